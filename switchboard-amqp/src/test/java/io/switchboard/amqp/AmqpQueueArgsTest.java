package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
 * Queue arguments applied, seen through RabbitMQ's Java client: message TTL, queue expiry, length
 * limits with both overflow behaviours, dead-lettering with x-death, single active consumer, and
 * RabbitMQ's 406 for bad arguments.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpQueueArgsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  Connection connection;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    connection = f.newConnection("amqp-queue-args-test");
  }

  @AfterEach
  void stop() throws Exception {
    if (connection != null && connection.isOpen()) {
      connection.close();
    }
    server.close();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  static List<GetResponse> drain(Channel ch, String queue) throws IOException {
    List<GetResponse> out = new ArrayList<>();
    GetResponse r;
    while ((r = ch.basicGet(queue, true)) != null) {
      out.add(r);
    }
    return out;
  }

  static List<String> bodies(List<GetResponse> rs) {
    return rs.stream().map(r -> text(r.getBody())).toList();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> firstDeath(GetResponse r) {
    List<Object> deaths = (List<Object>) r.getProps().getHeaders().get("x-death");
    assertThat(deaths).isNotEmpty();
    return (Map<String, Object>) deaths.get(0);
  }

  @Test
  void rejectedMessagesAreDeadLetteredWithXDeath() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("dlx", BuiltinExchangeType.DIRECT);
    ch.queueDeclare("dead", false, false, false, null);
    ch.queueBind("dead", "dlx", "to-dead");
    ch.queueDeclare(
        "work",
        false,
        false,
        false,
        Map.of("x-dead-letter-exchange", "dlx", "x-dead-letter-routing-key", "to-dead"));
    ch.confirmSelect();
    AMQP.BasicProperties props =
        new AMQP.BasicProperties.Builder().headers(Map.of("mine", "kept")).build();
    for (String body : List.of("rejected", "nacked", "requeued")) {
      ch.basicPublish("", "work", props, utf8(body));
    }
    ch.waitForConfirmsOrDie(10_000);
    GetResponse a = ch.basicGet("work", false);
    ch.basicReject(a.getEnvelope().getDeliveryTag(), false);
    GetResponse b = ch.basicGet("work", false);
    ch.basicNack(b.getEnvelope().getDeliveryTag(), false, false);
    GetResponse c = ch.basicGet("work", false);
    ch.basicNack(c.getEnvelope().getDeliveryTag(), false, true); // requeued: not dead-lettered

    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("dead") == 2);
    List<GetResponse> dead = drain(ch, "dead");
    assertThat(bodies(dead)).containsExactly("rejected", "nacked");
    GetResponse first = dead.get(0);
    assertThat(first.getEnvelope().getExchange()).isEqualTo("dlx");
    assertThat(first.getEnvelope().getRoutingKey()).isEqualTo("to-dead");
    Map<String, Object> headers = first.getProps().getHeaders();
    assertThat(headers.get("mine").toString()).isEqualTo("kept");
    assertThat(headers.get("x-first-death-reason").toString()).isEqualTo("rejected");
    assertThat(headers.get("x-first-death-queue").toString()).isEqualTo("work");
    Map<String, Object> death = firstDeath(first);
    assertThat(death.get("reason").toString()).isEqualTo("rejected");
    assertThat(death.get("queue").toString()).isEqualTo("work");
    assertThat(death.get("exchange").toString()).isEmpty();
    assertThat(death.get("count")).isEqualTo(1L);
    assertThat(death.get("routing-keys").toString()).isEqualTo("[work]");
    assertThat(death.get("time")).isInstanceOf(java.util.Date.class);
    assertThat(bodies(drain(ch, "work"))).containsExactly("requeued");
  }

  @Test
  void messageTtlExpiresAtTheHeadAndDeadLettersWithTheOwnKey() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("expired", BuiltinExchangeType.FANOUT);
    ch.queueDeclare("graveyard", false, false, false, null);
    ch.queueBind("graveyard", "expired", "");
    ch.queueDeclare(
        "short",
        false,
        false,
        false,
        Map.of("x-message-ttl", 200, "x-dead-letter-exchange", "expired"));
    ch.confirmSelect();
    ch.basicPublish("", "short", null, utf8("old 1"));
    ch.basicPublish("", "short", null, utf8("old 2"));
    ch.waitForConfirmsOrDie(10_000);
    long published = System.nanoTime();
    await()
        .pollInterval(Duration.ofMillis(50))
        .until(() -> System.nanoTime() - published > TimeUnit.MILLISECONDS.toNanos(300));
    ch.basicPublish("", "short", null, utf8("fresh"));
    ch.waitForConfirmsOrDie(10_000);
    assertThat(text(ch.basicGet("short", true).getBody())).isEqualTo("fresh");
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("graveyard") == 2);
    List<GetResponse> dead = drain(ch, "graveyard");
    assertThat(bodies(dead)).containsExactly("old 1", "old 2");
    assertThat(dead.get(0).getEnvelope().getRoutingKey()).isEqualTo("short");
    assertThat(firstDeath(dead.get(0)).get("reason").toString()).isEqualTo("expired");

    // A consumer never sees an expired message either.
    ch.basicPublish("", "short", null, utf8("old 3"));
    ch.waitForConfirmsOrDie(10_000);
    long again = System.nanoTime();
    await()
        .pollInterval(Duration.ofMillis(50))
        .until(() -> System.nanoTime() - again > TimeUnit.MILLISECONDS.toNanos(300));
    BlockingQueue<String> got = new LinkedBlockingQueue<>();
    ch.basicConsume("short", true, (tag, d) -> got.add(text(d.getBody())), tag -> {});
    await().atMost(Duration.ofSeconds(10)).until(() -> ch.messageCount("graveyard") == 1);
    assertThat(got).isEmpty();
  }

  @Test
  void aGetSkipsHundredsOfExpiredMessages() throws Exception {
    Channel ch = connection.createChannel();
    // The TTL leaves the skipping (one fetch per expired message) time before "fresh" expires too.
    ch.queueDeclare("stale", false, false, false, Map.of("x-message-ttl", 3_000));
    ch.confirmSelect();
    for (int i = 0; i < 500; i++) {
      ch.basicPublish("", "stale", null, utf8("old " + i));
    }
    ch.waitForConfirmsOrDie(30_000);
    long published = System.nanoTime();
    await()
        .pollInterval(Duration.ofMillis(50))
        .atMost(Duration.ofSeconds(10))
        .until(() -> System.nanoTime() - published > TimeUnit.MILLISECONDS.toNanos(3_100));
    ch.basicPublish("", "stale", null, utf8("fresh"));
    ch.waitForConfirmsOrDie(10_000);
    assertThat(text(ch.basicGet("stale", true).getBody())).isEqualTo("fresh");
    assertThat(ch.basicGet("stale", true)).isNull();
  }

  @Test
  void perMessageExpirationDropsAnUnconsumedMessage() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("exp", false, false, false, null);
    ch.confirmSelect();
    ch.basicPublish(
        "", "exp", new AMQP.BasicProperties.Builder().expiration("100").build(), utf8("brief"));
    ch.basicPublish("", "exp", null, utf8("lasting"));
    ch.waitForConfirmsOrDie(10_000);
    long published = System.nanoTime();
    await()
        .pollInterval(Duration.ofMillis(50))
        .until(() -> System.nanoTime() - published > TimeUnit.MILLISECONDS.toNanos(250));
    assertThat(bodies(drain(ch, "exp"))).containsExactly("lasting");
  }

  @Test
  void maxLengthDropsTheHead() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("capped", false, false, false, Map.of("x-max-length", 3));
    ch.confirmSelect();
    for (int i = 1; i <= 5; i++) {
      ch.basicPublish("", "capped", null, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    assertThat(bodies(drain(ch, "capped"))).containsExactly("m3", "m4", "m5");
  }

  @Test
  void rejectPublishNacksThePublisherOverTheLimit() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare(
        "full", false, false, false, Map.of("x-max-length", 2, "x-overflow", "reject-publish"));
    ch.confirmSelect();
    ConcurrentSkipListSet<Long> nacked = new ConcurrentSkipListSet<>();
    ConcurrentSkipListSet<Long> acked = new ConcurrentSkipListSet<>();
    ch.addConfirmListener((tag, multiple) -> acked.add(tag), (tag, multiple) -> nacked.add(tag));
    for (int i = 1; i <= 3; i++) {
      ch.basicPublish("", "full", null, utf8("m" + i));
    }
    assertThat(ch.waitForConfirms(10_000)).isFalse();
    assertThat(nacked).containsExactly(3L);
    assertThat(bodies(drain(ch, "full"))).containsExactly("m1", "m2");
  }

  @Test
  void anUnusedQueueExpires() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("fleeting", false, false, false, Map.of("x-expires", 300));
    ch.queueDeclare("kept", false, false, false, null);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              try (Channel probe = connection.createChannel()) {
                probe.queueDeclarePassive("fleeting");
                return false;
              } catch (IOException e) {
                return e.getCause() instanceof ShutdownSignalException s
                    && ((AMQP.Channel.Close) s.getReason()).getReplyCode() == 404;
              }
            });
    ch.queueDeclarePassive("kept");
  }

  @Test
  void aQueueWithAConsumerDoesNotExpire() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("watched", false, false, false, Map.of("x-expires", 200));
    ch.basicConsume("watched", true, (tag, d) -> {}, tag -> {});
    long since = System.nanoTime();
    await()
        .pollInterval(Duration.ofMillis(50))
        .until(() -> System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(600));
    ch.queueDeclarePassive("watched");
  }

  @Test
  void singleActiveConsumerGivesEverythingToOneUntilItGoes() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("sac", false, false, false, Map.of("x-single-active-consumer", true));
    Channel c1 = connection.createChannel();
    Channel c2 = connection.createChannel();
    c1.basicQos(1);
    c2.basicQos(1);
    // c1 holds what it gets; c2 acknowledges at once. Shared, c2 would take what c1 cannot.
    BlockingQueue<String> one = new LinkedBlockingQueue<>();
    BlockingQueue<String> two = new LinkedBlockingQueue<>();
    c1.basicConsume("sac", false, (tag, d) -> one.add(text(d.getBody())), tag -> {});
    c2.basicConsume(
        "sac",
        false,
        (tag, d) -> {
          two.add(text(d.getBody()));
          c2.basicAck(d.getEnvelope().getDeliveryTag(), false);
        },
        tag -> {});
    ch.confirmSelect();
    for (int i = 0; i < 5; i++) {
      ch.basicPublish("", "sac", null, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> one.size() + two.size() > 0);
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> one.isEmpty() || two.isEmpty());
    if (!one.isEmpty()) {
      assertThat(one).hasSize(1);
      c1.close(); // the active one goes: c2 takes over, with what c1 held
      await().atMost(Duration.ofSeconds(10)).until(() -> two.size() == 5);
      assertThat(two).containsExactlyInAnyOrder("m0", "m1", "m2", "m3", "m4");
    } else {
      assertThat(two).containsExactly("m0", "m1", "m2", "m3", "m4");
    }
  }

  @Test
  void aCancelledSingleActiveConsumerHoldingNothingHandsOverAtOnce() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("sac2", false, false, false, Map.of("x-single-active-consumer", true));
    Channel c1 = connection.createChannel();
    Channel c2 = connection.createChannel();
    BlockingQueue<String> one = new LinkedBlockingQueue<>();
    BlockingQueue<String> two = new LinkedBlockingQueue<>();
    String tag1 = c1.basicConsume("sac2", true, (tag, d) -> one.add(text(d.getBody())), tag -> {});
    ch.confirmSelect();
    ch.basicPublish("", "sac2", null, utf8("first"));
    ch.waitForConfirmsOrDie(10_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> one.size() == 1); // c1 is the active one
    c2.basicConsume("sac2", true, (tag, d) -> two.add(text(d.getBody())), tag -> {});
    c1.basicCancel(tag1); // its channel stays open: c2 takes over all the same
    ch.basicPublish("", "sac2", null, utf8("second"));
    ch.waitForConfirmsOrDie(10_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> two.size() == 1);
    assertThat(two).containsExactly("second");
    assertThat(one).containsExactly("first");
  }

  void expect406(Map<String, Object> args, String mentions) throws IOException {
    Channel ch = connection.createChannel();
    assertThatThrownBy(() -> ch.queueDeclare("bad", false, false, false, args))
        .isInstanceOf(IOException.class)
        .cause()
        .isInstanceOfSatisfying(
            ShutdownSignalException.class,
            e -> {
              AMQP.Channel.Close close = (AMQP.Channel.Close) e.getReason();
              assertThat(close.getReplyCode()).isEqualTo(406);
              assertThat(close.getReplyText()).contains(mentions);
            });
  }

  @Test
  void badArgumentsAreRefusedAsRabbitMqRefusesThem() throws Exception {
    expect406(Map.of("x-message-ttl", "1000"), "x-message-ttl");
    expect406(Map.of("x-message-ttl", -1), "value_negative");
    expect406(Map.of("x-expires", 0), "x-expires");
    expect406(Map.of("x-max-length", 1.5), "x-max-length");
    expect406(Map.of("x-overflow", "drop-tail"), "x-overflow");
    expect406(Map.of("x-dead-letter-exchange", 1), "x-dead-letter-exchange");
    expect406(Map.of("x-dead-letter-routing-key", "k"), "routing_key_but_no_dlx_defined");
    expect406(Map.of("x-single-active-consumer", "yes"), "x-single-active-consumer");
    expect406(Map.of("x-max-priority", 10), "not served");
    expect406(Map.of("x-queue-type", "stream"), "x-queue-type");
    Map<String, Object> unknown = new HashMap<>();
    unknown.put("my-own", "whatever"); // RabbitMQ keeps arguments it does not know
    unknown.put("x-queue-type", "classic");
    Channel ch = connection.createChannel();
    ch.queueDeclare("fine", false, false, false, unknown);
    assertThat(connection.isOpen()).isTrue();
  }

  @Test
  void theQueueFsyncSettingAppliesToNewQueues() throws Exception {
    connection.createChannel().queueDeclare("default-fsync", true, false, false, null);
    assertThat(server.broker().streamConfig(AmqpModel.streamName("default-fsync")).fsync())
        .isEqualTo(io.switchboard.log.FsyncPolicy.INTERVAL);
    try (SwitchboardServer synced =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("synced").toString(),
                "amqp.queue-fsync",
                "always"))) {
      ConnectionFactory f = new ConnectionFactory();
      f.setHost("127.0.0.1");
      f.setPort(synced.addresses().get("amqp").getPort());
      try (Connection c = f.newConnection()) {
        c.createChannel().queueDeclare("always-fsync", true, false, false, null);
      }
      assertThat(synced.broker().streamConfig(AmqpModel.streamName("always-fsync")).fsync())
          .isEqualTo(io.switchboard.log.FsyncPolicy.ALWAYS);
    }
  }
}
