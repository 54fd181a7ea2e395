package io.switchboard.amqp;

import static io.switchboard.amqp.AmqpQueueArgsTest.bodies;
import static io.switchboard.amqp.AmqpQueueArgsTest.drain;
import static io.switchboard.amqp.AmqpQueueArgsTest.firstDeath;
import static io.switchboard.amqp.AmqpQueueArgsTest.text;
import static io.switchboard.amqp.AmqpQueueArgsTest.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dead-lettering of what a queue drops by itself, through RabbitMQ's Java client: the head dropped
 * by {@code x-max-length} (drop-head), the publish refused by {@code reject-publish-dlx}, messages
 * expired by their own {@code expiration} or the queue's {@code x-message-ttl} with no consumer
 * around, a retry chain counting its deaths, and expired messages dead-lettered after a restart.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpDeadLetterDropsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  Connection connection;

  @BeforeEach
  void start() throws Exception {
    startServer();
  }

  void startServer() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    connection = f.newConnection("amqp-dead-letter-drops-test");
  }

  @AfterEach
  void stop() throws Exception {
    if (connection != null && connection.isOpen()) {
      connection.close();
    }
    server.close();
  }

  /** A fanout dead-letter exchange {@code dlx} into queue {@code dead}. */
  static void graveyard(Channel ch, boolean durable) throws Exception {
    ch.exchangeDeclare("dlx", BuiltinExchangeType.FANOUT, durable);
    ch.queueDeclare("dead", durable, false, false, null);
    ch.queueBind("dead", "dlx", "");
  }

  @Test
  void dropHeadDeadLettersTheDroppedHeadWithReasonMaxlen() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, false);
    ch.queueDeclare(
        "capped", false, false, false, Map.of("x-max-length", 2, "x-dead-letter-exchange", "dlx"));
    ch.confirmSelect();
    AMQP.BasicProperties props =
        new AMQP.BasicProperties.Builder().headers(Map.of("mine", "kept")).build();
    for (int i = 1; i <= 5; i++) {
      ch.basicPublish("", "capped", props, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    assertThat(bodies(drain(ch, "capped"))).containsExactly("m4", "m5");
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("dead") == 3);
    List<GetResponse> dead = drain(ch, "dead");
    assertThat(bodies(dead)).containsExactly("m1", "m2", "m3");
    GetResponse first = dead.get(0);
    assertThat(first.getProps().getHeaders().get("mine").toString()).isEqualTo("kept");
    assertThat(first.getProps().getHeaders().get("x-first-death-reason").toString())
        .isEqualTo("maxlen");
    Map<String, Object> death = firstDeath(first);
    assertThat(death.get("reason").toString()).isEqualTo("maxlen");
    assertThat(death.get("queue").toString()).isEqualTo("capped");
    assertThat(death.get("exchange").toString()).isEmpty();
    assertThat(death.get("routing-keys").toString()).isEqualTo("[capped]");
    assertThat(death.get("count")).isEqualTo(1L);
    assertThat(drain(ch, "dead")).isEmpty(); // each once
  }

  @Test
  void dropHeadSparesWhatIsInFlightToAConsumer() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, false);
    ch.queueDeclare(
        "capped", false, false, false, Map.of("x-max-length", 1, "x-dead-letter-exchange", "dlx"));
    ch.confirmSelect();
    ch.basicPublish("", "capped", null, utf8("held"));
    ch.waitForConfirmsOrDie(10_000);
    GetResponse held = ch.basicGet("capped", false); // unacknowledged: not ready, not counted
    assertThat(text(held.getBody())).isEqualTo("held");
    for (int i = 1; i <= 3; i++) {
      ch.basicPublish("", "capped", null, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("dead") == 2);
    assertThat(bodies(drain(ch, "dead"))).containsExactly("m1", "m2");
    ch.basicAck(held.getEnvelope().getDeliveryTag(), false);
    assertThat(bodies(drain(ch, "capped"))).containsExactly("m3");
  }

  @Test
  void rejectPublishDlxNacksAndDeadLettersTheRefusedPublish() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, false);
    ch.queueDeclare(
        "full",
        false,
        false,
        false,
        Map.of(
            "x-max-length",
            2,
            "x-overflow",
            "reject-publish-dlx",
            "x-dead-letter-exchange",
            "dlx"));
    ch.confirmSelect();
    ConcurrentSkipListSet<Long> nacked = new ConcurrentSkipListSet<>();
    ch.addConfirmListener((tag, multiple) -> {}, (tag, multiple) -> nacked.add(tag));
    for (int i = 1; i <= 3; i++) {
      ch.basicPublish("", "full", null, utf8("m" + i));
    }
    assertThat(ch.waitForConfirms(10_000)).isFalse();
    assertThat(nacked).containsExactly(3L);
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("dead") == 1);
    GetResponse dead = ch.basicGet("dead", true);
    assertThat(text(dead.getBody())).isEqualTo("m3");
    assertThat(firstDeath(dead).get("reason").toString()).isEqualTo("maxlen");
    assertThat(firstDeath(dead).get("queue").toString()).isEqualTo("full");
    assertThat(bodies(drain(ch, "full"))).containsExactly("m1", "m2");
  }

  @Test
  void plainRejectPublishDeadLettersNothing() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, false);
    ch.queueDeclare(
        "full",
        false,
        false,
        false,
        Map.of("x-max-length", 1, "x-overflow", "reject-publish", "x-dead-letter-exchange", "dlx"));
    ch.confirmSelect();
    ch.basicPublish("", "full", null, utf8("m1"));
    ch.basicPublish("", "full", null, utf8("m2"));
    assertThat(ch.waitForConfirms(10_000)).isFalse();
    // A marker through the dead-letter exchange: once it is there, m2 would have been before it.
    ch.basicPublish("dlx", "", null, utf8("marker"));
    ch.waitForConfirms(10_000);
    assertThat(bodies(drain(ch, "dead"))).containsExactly("marker");
  }

  @Test
  void perMessageExpirationDeadLettersWithNoConsumer() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, false);
    ch.queueDeclare("exp", false, false, false, Map.of("x-dead-letter-exchange", "dlx"));
    ch.confirmSelect();
    ch.basicPublish(
        "", "exp", new AMQP.BasicProperties.Builder().expiration("100").build(), utf8("brief"));
    ch.basicPublish("", "exp", null, utf8("lasting"));
    ch.waitForConfirmsOrDie(10_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("dead") == 1);
    GetResponse dead = ch.basicGet("dead", true);
    assertThat(text(dead.getBody())).isEqualTo("brief");
    assertThat(dead.getProps().getExpiration()).isNull(); // RabbitMQ drops it from the copy
    Map<String, Object> death = firstDeath(dead);
    assertThat(death.get("reason").toString()).isEqualTo("expired");
    assertThat(death.get("queue").toString()).isEqualTo("exp");
    assertThat(death.get("original-expiration").toString()).isEqualTo("100");
    assertThat(bodies(drain(ch, "exp"))).containsExactly("lasting");
  }

  @Test
  void queueTtlDeadLettersWithNoConsumer() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, false);
    ch.queueDeclare(
        "short",
        false,
        false,
        false,
        Map.of("x-message-ttl", 150, "x-dead-letter-exchange", "dlx"));
    ch.confirmSelect();
    ch.basicPublish("", "short", null, utf8("a"));
    ch.basicPublish("", "short", null, utf8("b"));
    ch.waitForConfirmsOrDie(10_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("dead") == 2);
    List<GetResponse> dead = drain(ch, "dead");
    assertThat(bodies(dead)).containsExactly("a", "b");
    assertThat(firstDeath(dead.get(1)).get("reason").toString()).isEqualTo("expired");
    assertThat(ch.messageCount("short")).isZero();
  }

  /**
   * RabbitMQ's retry pattern: a worker rejects, the message waits in a queue whose TTL sends it
   * back; x-death keeps one entry per queue and reason, counting, the latest first.
   */
  @Test
  @SuppressWarnings("unchecked")
  void aRetryChainCountsItsDeaths() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare(
        "work",
        false,
        false,
        false,
        Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", "wait"));
    ch.queueDeclare(
        "wait",
        false,
        false,
        false,
        Map.of(
            "x-message-ttl",
            50,
            "x-dead-letter-exchange",
            "",
            "x-dead-letter-routing-key",
            "work"));
    ch.confirmSelect();
    ch.basicPublish("", "work", null, utf8("job"));
    ch.waitForConfirmsOrDie(10_000);
    BlockingQueue<com.rabbitmq.client.Delivery> got = new LinkedBlockingQueue<>();
    Channel worker = connection.createChannel();
    worker.basicQos(1);
    worker.basicConsume(
        "work",
        false,
        (tag, d) -> {
          got.add(d);
          if (got.size() < 3) {
            worker.basicReject(d.getEnvelope().getDeliveryTag(), false);
          } else {
            worker.basicAck(d.getEnvelope().getDeliveryTag(), false);
          }
        },
        tag -> {});
    // (Each dead letter from a consumer's reject is settled at once, not at the client's next
    // frame.)
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 3);
    com.rabbitmq.client.Delivery third = got.stream().toList().get(2);
    List<Object> deaths = (List<Object>) third.getProperties().getHeaders().get("x-death");
    assertThat(deaths).hasSize(2);
    Map<String, Object> latest = (Map<String, Object>) deaths.get(0);
    Map<String, Object> earlier = (Map<String, Object>) deaths.get(1);
    assertThat(latest.get("queue").toString()).isEqualTo("wait");
    assertThat(latest.get("reason").toString()).isEqualTo("expired");
    assertThat(latest.get("count")).isEqualTo(2L);
    assertThat(earlier.get("queue").toString()).isEqualTo("work");
    assertThat(earlier.get("reason").toString()).isEqualTo("rejected");
    assertThat(earlier.get("count")).isEqualTo(2L);
    assertThat(third.getProperties().getHeaders().get("x-first-death-reason").toString())
        .isEqualTo("rejected");
    assertThat(third.getProperties().getHeaders().get("x-first-death-queue").toString())
        .isEqualTo("work");
  }

  @Test
  void messagesExpiringAcrossARestartAreDeadLetteredAfterIt() throws Exception {
    Channel ch = connection.createChannel();
    graveyard(ch, true);
    ch.queueDeclare(
        "later",
        true,
        false,
        false,
        Map.of("x-message-ttl", 2_000, "x-dead-letter-exchange", "dlx"));
    ch.confirmSelect();
    for (int i = 1; i <= 3; i++) {
      ch.basicPublish(
          "", "later", com.rabbitmq.client.MessageProperties.PERSISTENT_BASIC, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    connection
        .close(); // (on a slow machine some may expire before: dead-lettered once all the same)
    server.close();

    startServer();
    Channel again = connection.createChannel();
    await().atMost(Duration.ofSeconds(15)).until(() -> again.messageCount("dead") == 3);
    assertThat(bodies(drain(again, "dead"))).containsExactly("m1", "m2", "m3");
    assertThat(again.messageCount("later")).isZero();
  }
}
