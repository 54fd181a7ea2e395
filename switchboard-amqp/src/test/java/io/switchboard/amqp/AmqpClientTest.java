package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.CancelCallback;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DeliverCallback;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import com.rabbitmq.client.ShutdownSignalException;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * RabbitMQ's own Java client (amqp-client 5.x, unmodified) against a whole server on loopback:
 * queues, exchanges and bindings, confirms, acks, prefetch, requeue, returns, channel errors, a
 * restart, and messages crossing to and from the native protocol.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpClientTest {
  @TempDir Path dir;
  SwitchboardServer server;
  Connection connection;

  @BeforeEach
  void start() throws Exception {
    startServer();
    connection = connect();
  }

  void startServer() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  Connection connect() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    return f.newConnection("amqp-client-test");
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

  @Test
  void publishWithConfirmsAndConsumeWithAcks() throws Exception {
    Channel ch = connection.createChannel();
    assertThat(connection.getServerProperties()).containsKey("capabilities");
    ch.queueDeclare("jobs", true, false, false, null);
    ch.confirmSelect();
    for (int i = 0; i < 100; i++) {
      AMQP.BasicProperties props =
          new AMQP.BasicProperties.Builder()
              .contentType("text/plain")
              .deliveryMode(2)
              .correlationId("c" + i)
              .headers(Map.of("n", i))
              .build();
      ch.basicPublish("", "jobs", props, utf8("job " + i));
    }
    ch.waitForConfirmsOrDie(10_000);

    Channel consumer = connection.createChannel();
    consumer.basicQos(10);
    BlockingQueue<Delivery> got = new LinkedBlockingQueue<>();
    consumer.basicConsume("jobs", false, (tag, d) -> got.add(d), tag -> {});
    List<Delivery> all = new ArrayList<>();
    while (all.size() < 100) {
      Delivery d = got.poll(10, TimeUnit.SECONDS);
      assertThat(d).as("delivery " + all.size()).isNotNull();
      all.add(d);
      if (all.size() % 10 == 0) {
        // cumulative: acknowledges the ten received so far
        consumer.basicAck(d.getEnvelope().getDeliveryTag(), true);
      }
    }
    Delivery first = all.get(0);
    assertThat(text(first.getBody())).isEqualTo("job 0");
    assertThat(first.getEnvelope().getExchange()).isEmpty();
    assertThat(first.getEnvelope().getRoutingKey()).isEqualTo("jobs");
    assertThat(first.getEnvelope().isRedeliver()).isFalse();
    assertThat(first.getProperties().getContentType()).isEqualTo("text/plain");
    assertThat(first.getProperties().getCorrelationId()).isEqualTo("c0");
    assertThat(first.getProperties().getDeliveryMode()).isEqualTo(2);
    assertThat(first.getProperties().getHeaders()).containsEntry("n", 0);
    assertThat(all.stream().map(d -> text(d.getBody())).toList())
        .containsExactlyElementsOf(
            java.util.stream.IntStream.range(0, 100).mapToObj(i -> "job " + i).toList());
    consumer.close();
    // All acknowledged: nothing comes back when the consumer's channel is gone.
    assertThat(ch.basicGet("jobs", false)).isNull();
    assertThat(ch.queueDeclarePassive("jobs").getMessageCount()).isZero();
  }

  @Test
  void topicExchangeRoutesWithWildcards() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("logs", BuiltinExchangeType.TOPIC, true);
    Map<String, String> bindings =
        Map.of(
            "q-all", "#", "q-star", "a.*", "q-hash", "a.#", "q-exact", "a.b.c", "q-mid", "*.b.*");
    for (Map.Entry<String, String> e : bindings.entrySet()) {
      ch.queueDeclare(e.getKey(), true, false, false, null);
      ch.queueBind(e.getKey(), "logs", e.getValue());
    }
    ch.confirmSelect();
    for (String key : List.of("a", "a.b", "a.b.c", "b", "", "x.b.y")) {
      ch.basicPublish("logs", key, null, utf8(key));
    }
    ch.waitForConfirmsOrDie(10_000);
    assertThat(drain(ch, "q-all")).containsExactlyInAnyOrder("a", "a.b", "a.b.c", "b", "", "x.b.y");
    assertThat(drain(ch, "q-star")).containsExactlyInAnyOrder("a.b");
    assertThat(drain(ch, "q-hash")).containsExactlyInAnyOrder("a", "a.b", "a.b.c");
    assertThat(drain(ch, "q-exact")).containsExactlyInAnyOrder("a.b.c");
    assertThat(drain(ch, "q-mid")).containsExactlyInAnyOrder("a.b.c", "x.b.y");
  }

  /** Every message in a queue by basic.get (auto-ack), checking each one's routing key. */
  static List<String> drain(Channel ch, String queue) throws IOException {
    List<String> out = new ArrayList<>();
    GetResponse r;
    while ((r = ch.basicGet(queue, true)) != null) {
      assertThat(r.getEnvelope().getRoutingKey()).isEqualTo(text(r.getBody()));
      out.add(text(r.getBody()));
    }
    return out;
  }

  @Test
  void fanoutAndDirectExchanges() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("news", BuiltinExchangeType.FANOUT);
    ch.exchangeDeclare("tasks", BuiltinExchangeType.DIRECT);
    String q1 = ch.queueDeclare().getQueue();
    String q2 = ch.queueDeclare().getQueue();
    assertThat(q1).startsWith("amq.gen-").isNotEqualTo(q2);
    ch.queueBind(q1, "news", "");
    ch.queueBind(q2, "news", "ignored");
    ch.queueBind(q1, "tasks", "red");
    ch.confirmSelect();
    ch.basicPublish("news", "anything", null, utf8("n1"));
    ch.basicPublish("tasks", "red", null, utf8("t-red"));
    ch.basicPublish("tasks", "blue", null, utf8("t-blue"));
    ch.waitForConfirmsOrDie(10_000);
    GetResponse a = ch.basicGet(q1, true);
    assertThat(a.getEnvelope().getExchange()).isEqualTo("news");
    assertThat(a.getEnvelope().getRoutingKey()).isEqualTo("anything");
    assertThat(text(a.getBody())).isEqualTo("n1");
    assertThat(text(ch.basicGet(q1, true).getBody())).isEqualTo("t-red");
    assertThat(ch.basicGet(q1, true)).isNull();
    assertThat(text(ch.basicGet(q2, true).getBody())).isEqualTo("n1");
    assertThat(ch.basicGet(q2, true)).isNull();
  }

  @Test
  void prefetchBoundsUnacknowledgedDeliveries() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("pf", false, false, false, null);
    ch.confirmSelect();
    for (int i = 0; i < 10; i++) {
      ch.basicPublish("", "pf", null, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    Channel c = connection.createChannel();
    c.basicQos(3);
    List<Delivery> got = new CopyOnWriteArrayList<>();
    c.basicConsume("pf", false, (tag, d) -> got.add(d), tag -> {});
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 3);
    // A round trip on the channel: had more been sent, they would have arrived by now.
    c.basicQos(3);
    ch.queueDeclarePassive("pf");
    assertThat(got).hasSize(3);
    c.basicAck(got.get(1).getEnvelope().getDeliveryTag(), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 4);
    c.basicAck(got.get(3).getEnvelope().getDeliveryTag(), true);
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 7);
  }

  @Test
  void nackAndRejectRequeueWithTheRedeliveredFlag() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("rq", false, false, false, null);
    ch.confirmSelect();
    ch.basicPublish("", "rq", null, utf8("once"));
    ch.basicPublish("", "rq", null, utf8("dropped"));
    ch.waitForConfirmsOrDie(10_000);
    GetResponse first = ch.basicGet("rq", false);
    assertThat(text(first.getBody())).isEqualTo("once");
    assertThat(first.getEnvelope().isRedeliver()).isFalse();
    ch.basicNack(first.getEnvelope().getDeliveryTag(), false, true);
    GetResponse dropped = null;
    GetResponse again = null;
    for (int i = 0; i < 2; i++) {
      GetResponse r = ch.basicGet("rq", false);
      if (text(r.getBody()).equals("once")) {
        again = r;
      } else {
        dropped = r;
      }
    }
    assertThat(again.getEnvelope().isRedeliver()).isTrue();
    ch.basicReject(dropped.getEnvelope().getDeliveryTag(), false); // not requeued: gone
    ch.basicReject(again.getEnvelope().getDeliveryTag(), true);
    GetResponse third = ch.basicGet("rq", true);
    assertThat(text(third.getBody())).isEqualTo("once");
    assertThat(third.getEnvelope().isRedeliver()).isTrue();
    assertThat(ch.basicGet("rq", true)).isNull();
  }

  @Test
  void unacknowledgedMessagesReturnWhenTheChannelCloses() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("back", false, false, false, null);
    ch.confirmSelect();
    ch.basicPublish("", "back", null, utf8("x"));
    ch.waitForConfirmsOrDie(10_000);
    Channel c = connection.createChannel();
    BlockingQueue<Delivery> got = new LinkedBlockingQueue<>();
    c.basicConsume("back", false, (tag, d) -> got.add(d), tag -> {});
    assertThat(got.poll(10, TimeUnit.SECONDS)).isNotNull();
    c.close();
    GetResponse r =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> ch.basicGet("back", true), x -> x != null);
    assertThat(text(r.getBody())).isEqualTo("x");
    assertThat(r.getEnvelope().isRedeliver()).isTrue();
  }

  @Test
  void mandatoryUnroutablePublishIsReturnedBeforeItsConfirm() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("lonely", BuiltinExchangeType.DIRECT);
    List<String> events = Collections.synchronizedList(new ArrayList<>());
    ch.addReturnListener(
        r ->
            events.add(
                "return " + r.getReplyCode() + " " + r.getRoutingKey() + " " + text(r.getBody())));
    ch.addConfirmListener(
        (tag, multiple) -> events.add("ack " + tag + (multiple ? " multiple" : "")),
        (tag, multiple) -> events.add("nack " + tag));
    ch.confirmSelect();
    ch.basicPublish("lonely", "nowhere", true, null, utf8("lost"));
    ch.basicPublish("", "no-such-queue", true, null, utf8("lost too"));
    ch.waitForConfirmsOrDie(10_000);
    // each return comes before the confirm that covers its publish; confirms in publish order
    assertThat(events)
        .isIn(
            List.of(
                "return 312 nowhere lost", "ack 1", "return 312 no-such-queue lost too", "ack 2"),
            List.of(
                "return 312 nowhere lost", "return 312 no-such-queue lost too", "ack 2 multiple"),
            List.of(
                "return 312 nowhere lost", "return 312 no-such-queue lost too", "ack 1", "ack 2"));
  }

  @Test
  void channelErrorsCloseTheChannelNotTheConnection() throws Exception {
    Channel ch = connection.createChannel();
    assertThatThrownBy(() -> ch.queueDeclarePassive("missing"))
        .isInstanceOf(IOException.class)
        .cause()
        .isInstanceOfSatisfying(
            ShutdownSignalException.class,
            s -> {
              assertThat(s.isHardError()).isFalse();
              assertThat(((AMQP.Channel.Close) s.getReason()).getReplyCode()).isEqualTo(404);
            });
    assertThat(ch.isOpen()).isFalse();
    assertThat(connection.isOpen()).isTrue();

    Channel ch2 = connection.createChannel();
    ch2.queueDeclare("argq", true, false, false, Map.of("x-max-length", 10));
    ch2.queueDeclare("argq", true, false, false, Map.of("x-max-length", 10)); // same: fine
    assertThatThrownBy(
            () -> ch2.queueDeclare("argq", true, false, false, Map.of("x-max-length", 20)))
        .cause()
        .isInstanceOfSatisfying(
            ShutdownSignalException.class,
            s -> assertThat(((AMQP.Channel.Close) s.getReason()).getReplyCode()).isEqualTo(406));
    Channel ch3 = connection.createChannel();
    ch3.exchangeDeclare("ex", BuiltinExchangeType.TOPIC);
    assertThatThrownBy(() -> ch3.exchangeDeclare("ex", BuiltinExchangeType.FANOUT))
        .cause()
        .isInstanceOfSatisfying(
            ShutdownSignalException.class,
            s -> assertThat(((AMQP.Channel.Close) s.getReason()).getReplyCode()).isEqualTo(406));
    Channel ch4 = connection.createChannel();
    ch4.basicPublish("no-exchange", "k", null, utf8("x")); // answered by channel.close
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ch4.isOpen()).isFalse());
    assertThat(((AMQP.Channel.Close) ch4.getCloseReason().getReason()).getReplyCode())
        .isEqualTo(404);
    Channel ch5 = connection.createChannel();
    ch5.basicAck(99, false);
    await().atMost(Duration.ofSeconds(10)).until(() -> !ch5.isOpen());
    assertThat(((AMQP.Channel.Close) ch5.getCloseReason().getReason()).getReplyCode())
        .isEqualTo(406);
    assertThat(connection.isOpen()).isTrue();
    assertThat(connection.createChannel().queueDeclarePassive("argq").getQueue()).isEqualTo("argq");
  }

  @Test
  void exclusiveServerNamedQueueGoesWithItsConnection() throws Exception {
    Channel ch = connection.createChannel();
    String q = ch.queueDeclare().getQueue();
    try (Connection other = connect()) {
      Channel o = other.createChannel();
      assertThatThrownBy(() -> o.queueDeclarePassive(q))
          .cause()
          .isInstanceOfSatisfying(
              ShutdownSignalException.class,
              s -> assertThat(((AMQP.Channel.Close) s.getReason()).getReplyCode()).isEqualTo(405));
    }
    connection.close();
    try (Connection other = connect()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThatThrownBy(() -> other.createChannel().queueDeclarePassive(q))
                      .cause()
                      .isInstanceOfSatisfying(
                          ShutdownSignalException.class,
                          s ->
                              assertThat(((AMQP.Channel.Close) s.getReason()).getReplyCode())
                                  .isEqualTo(404)));
    }
  }

  @Test
  void autoDeleteQueueGoesWithItsLastConsumer() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("ad", false, false, true, null);
    String tag =
        ch.basicConsume("ad", true, (DeliverCallback) (t, d) -> {}, (CancelCallback) t -> {});
    assertThat(tag).startsWith("amq.ctag-");
    assertThat(ch.queueDeclarePassive("ad").getConsumerCount()).isEqualTo(1);
    ch.basicCancel(tag);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThatThrownBy(() -> connection.createChannel().queueDeclarePassive("ad"))
                    .isInstanceOf(IOException.class));
  }

  @Test
  void consumersAreToldWhenTheirQueueIsDeleted() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("doomed", false, false, false, null);
    BlockingQueue<String> cancelled = new LinkedBlockingQueue<>();
    try (Connection other = connect()) {
      Channel o = other.createChannel();
      String tag = o.basicConsume("doomed", true, (t, d) -> {}, cancelled::add);
      String mine = ch.basicConsume("doomed", true, (t, d) -> {}, cancelled::add);
      ch.queueDelete("doomed");
      assertThat(
              List.of(cancelled.poll(10, TimeUnit.SECONDS), cancelled.poll(10, TimeUnit.SECONDS)))
          .containsExactlyInAnyOrder(tag, mine);
      assertThat(o.isOpen()).isTrue();
    }
  }

  @Test
  void queueDeletePurgeAndUnbind() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("d", BuiltinExchangeType.DIRECT);
    ch.queueDeclare("pq", false, false, false, null);
    ch.queueBind("pq", "d", "k");
    ch.confirmSelect();
    for (int i = 0; i < 5; i++) {
      ch.basicPublish("d", "k", null, utf8("m" + i));
    }
    ch.waitForConfirmsOrDie(10_000);
    assertThat(ch.queueDeclarePassive("pq").getMessageCount()).isEqualTo(5);
    assertThat(ch.queuePurge("pq").getMessageCount()).isEqualTo(5);
    assertThat(ch.basicGet("pq", true)).isNull();
    ch.queueUnbind("pq", "d", "k");
    ch.basicPublish("d", "k", null, utf8("unbound"));
    ch.waitForConfirmsOrDie(10_000);
    assertThat(ch.basicGet("pq", true)).isNull();
    ch.queueDelete("pq");
    ch.queueDelete("pq"); // idempotent
    ch.exchangeDelete("d");
    assertThatThrownBy(() -> ch.exchangeDeclarePassive("d")).isInstanceOf(IOException.class);
  }

  @Test
  void restartKeepsDurableExchangesQueuesBindingsAndMessages() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("orders", BuiltinExchangeType.TOPIC, true);
    ch.queueDeclare("eu-orders", true, false, false, Map.of("x-queue-type", "classic"));
    ch.queueBind("eu-orders", "orders", "eu.#");
    ch.queueDeclare("transient", false, false, false, null);
    ch.confirmSelect();
    ch.basicPublish("orders", "eu.fr", MessageProperties.PERSISTENT_TEXT_PLAIN, utf8("before"));
    ch.waitForConfirmsOrDie(10_000);
    connection.close();
    server.close();

    startServer();
    connection = connect();
    Channel after = connection.createChannel();
    after.exchangeDeclarePassive("orders");
    assertThat(after.queueDeclarePassive("eu-orders").getMessageCount()).isEqualTo(1);
    after.confirmSelect();
    after.basicPublish("orders", "eu.de", MessageProperties.PERSISTENT_TEXT_PLAIN, utf8("after"));
    after.basicPublish(
        "orders", "us.ny", MessageProperties.PERSISTENT_TEXT_PLAIN, utf8("elsewhere"));
    after.waitForConfirmsOrDie(10_000);
    GetResponse a = after.basicGet("eu-orders", true);
    assertThat(text(a.getBody())).isEqualTo("before");
    assertThat(a.getEnvelope().getRoutingKey()).isEqualTo("eu.fr");
    assertThat(a.getProps().getContentType()).isEqualTo("text/plain");
    assertThat(text(after.basicGet("eu-orders", true).getBody())).isEqualTo("after");
    assertThat(after.basicGet("eu-orders", true)).isNull();
    assertThatThrownBy(() -> after.queueDeclarePassive("transient"))
        .isInstanceOf(IOException.class);
  }

  @Test
  void messagesCrossToAndFromTheNativeProtocol() throws Exception {
    try (SwitchboardClient nativeClient =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", server.addresses().get("native").getPort()))) {
      Channel ch = connection.createChannel();
      ch.exchangeDeclare("shop", BuiltinExchangeType.TOPIC, true);
      ch.queueDeclare("shop-created", true, false, false, null);
      ch.queueBind("shop-created", "shop", "created.*");

      BlockingQueue<LiveMessage> seen = new LinkedBlockingQueue<>();
      var sub = nativeClient.subscribe("shop.>", seen::add);
      // the subscription is in place once a probe published natively comes back
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> {
                nativeClient.publish(PublishBuilder.to("shop.probe", "p"));
                return seen.poll(200, TimeUnit.MILLISECONDS) != null;
              });
      seen.clear();
      ch.confirmSelect();
      ch.basicPublish(
          "shop",
          "created.eu",
          new AMQP.BasicProperties.Builder()
              .contentType("application/json")
              .correlationId("42")
              .build(),
          utf8("{\"id\":1}"));
      ch.waitForConfirmsOrDie(10_000);
      LiveMessage m = seen.poll(10, TimeUnit.SECONDS);
      assertThat(m).isNotNull();
      assertThat(m.subject()).isEqualTo("shop.created.eu");
      assertThat(text(m.payload())).isEqualTo("{\"id\":1}");
      Set<String> headers = new HashSet<>();
      m.headers().forEach(h -> headers.add(h.key() + "=" + text(h.value())));
      assertThat(headers).contains("content-type=application/json", "sb-correlation-id=42");
      sub.close();

      nativeClient.publish(
          PublishBuilder.to("shop.created.us", "from native").header("trace", "t1"));
      GetResponse r =
          await()
              .atMost(Duration.ofSeconds(10))
              .until(
                  () -> ch.basicGet("shop-created", true),
                  x -> x != null && !text(x.getBody()).equals("{\"id\":1}"));
      assertThat(text(r.getBody())).isEqualTo("from native");
      assertThat(r.getEnvelope().getExchange()).isEqualTo("shop");
      assertThat(r.getEnvelope().getRoutingKey()).isEqualTo("created.us");
      assertThat(r.getProps().getHeaders()).containsKey("trace");
      assertThat(r.getProps().getHeaders().get("trace").toString()).isEqualTo("t1");
    }
  }

  /**
   * PerfTest's slow case (issue 15): four producers with 1,000 unconfirmed publishes each into one
   * queue, one consumer with prefetch 1,000 acknowledging each delivery. Every message must arrive
   * and be confirmed well within the suite's timeout; it took minutes when the consumer only got a
   * window's worth now and then.
   */
  @Test
  void manyProducersWithLargeConfirmWindowsIntoOneConsumerWithLargePrefetch() throws Exception {
    int producers = 4;
    int perProducer = 5_000;
    int total = producers * perProducer;
    Channel setup = connection.createChannel();
    setup.queueDeclare("perf", true, false, false, null);
    Connection consuming = connect();
    Channel consumer = consuming.createChannel();
    consumer.basicQos(1000);
    java.util.concurrent.atomic.AtomicInteger received =
        new java.util.concurrent.atomic.AtomicInteger();
    consumer.basicConsume(
        "perf",
        false,
        (tag, d) -> {
          consumer.basicAck(d.getEnvelope().getDeliveryTag(), false);
          received.incrementAndGet();
        },
        tag -> {});
    List<Connection> producing = new ArrayList<>();
    List<java.util.concurrent.CompletableFuture<Void>> sent = new ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger confirmed =
        new java.util.concurrent.atomic.AtomicInteger();
    long start = System.nanoTime();
    for (int p = 0; p < producers; p++) {
      Connection pc = connect();
      producing.add(pc);
      Channel ch = pc.createChannel();
      ch.confirmSelect();
      java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(1000);
      java.util.concurrent.atomic.AtomicLong settledUpTo =
          new java.util.concurrent.atomic.AtomicLong();
      ch.addConfirmListener(
          (tag, multiple) -> {
            long before = settledUpTo.getAndAccumulate(tag, Math::max);
            int n = multiple ? (int) Math.max(0, tag - before) : 1;
            window.release(n);
            confirmed.addAndGet(n);
          },
          (tag, multiple) -> {
            throw new IllegalStateException("nacked " + tag);
          });
      byte[] body = new byte[100];
      sent.add(
          java.util.concurrent.CompletableFuture.runAsync(
              () -> {
                try {
                  for (int i = 0; i < perProducer; i++) {
                    window.acquire();
                    ch.basicPublish("", "perf", MessageProperties.PERSISTENT_BASIC, body);
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    java.util.concurrent.CompletableFuture.allOf(
            sent.toArray(new java.util.concurrent.CompletableFuture<?>[0]))
        .get(90, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(90)).until(() -> received.get() >= total);
    await().atMost(Duration.ofSeconds(30)).until(() -> confirmed.get() >= total);
    System.out.printf(
        "4 producers (confirm window 1000) into 1 consumer (prefetch 1000): %d messages in %d ms%n",
        total, (System.nanoTime() - start) / 1_000_000);
    assertThat(received.get()).isEqualTo(total);
    for (Connection pc : producing) {
      pc.close();
    }
    consuming.close();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> setup.queueDeclarePassive("perf").getMessageCount() == 0);
  }

  /**
   * Publishes stored together are confirmed together: one basic.ack with multiple=true for what
   * completed meanwhile, not a confirm frame (and a hop to the event loop) per publish.
   */
  @Test
  void confirmsOfPublishesStoredTogetherComeAsOneMultipleAck() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("confirmed", true, false, false, null);
    ch.confirmSelect();
    int n = 5_000;
    java.util.concurrent.atomic.AtomicInteger ackFrames =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicLong highest = new java.util.concurrent.atomic.AtomicLong();
    ch.addConfirmListener(
        (tag, multiple) -> {
          ackFrames.incrementAndGet();
          highest.accumulateAndGet(tag, Math::max);
        },
        (tag, multiple) -> {
          throw new IllegalStateException("nacked " + tag);
        });
    byte[] body = new byte[100];
    for (int i = 0; i < n; i++) {
      ch.basicPublish("", "confirmed", MessageProperties.PERSISTENT_BASIC, body);
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> highest.get() == n);
    // Without batching it is one frame per publish (5,000); stored in batches, far fewer.
    assertThat(ackFrames.get()).isLessThan(n / 5);
    assertThat(ch.queueDeclarePassive("confirmed").getMessageCount()).isEqualTo(n);
  }
}
