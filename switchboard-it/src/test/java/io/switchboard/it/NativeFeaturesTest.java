package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.LiveMessages;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Delayed publishes and push credits, end to end over the native protocol. */
class NativeFeaturesTest {
  @TempDir Path dir;
  SwitchboardServer server;
  SwitchboardClient client;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), NativeKeys.PORT.name(), "0"));
    client = SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort());
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  @Test
  void aDelayedPublishIsAcknowledgedWithItsTimeAndArrivesThen() {
    client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"J\",\"subjects\":[\"j.>\"]}");
    ConcurrentLinkedQueue<Long> arrivals = new ConcurrentLinkedQueue<>();
    client.subscribe("j.>", m -> arrivals.add(System.currentTimeMillis()));
    long due = System.currentTimeMillis() + 500;
    PubAck ack = client.publish(PublishBuilder.to("j.later", "x").deliverAt(due));
    assertThat(ack.delayed()).isTrue();
    assertThat(ack.deliverAtMs()).isEqualTo(due);
    assertThat(ack.offset()).isEqualTo(-1);
    assertThat(ack.stream()).isEqualTo("J");
    await().atMost(Duration.ofSeconds(10)).until(() -> !arrivals.isEmpty());
    assertThat(arrivals.peek()).isGreaterThanOrEqualTo(due);
  }

  @Test
  void aSubscriptionCanBeReadAsAnIteratorWithABoundedBuffer() throws Exception {
    LiveMessages messages = client.subscribe("it.>", null, 5);
    for (int i = 0; i < 3; i++) {
      client.publish("it.x", ("m" + i).getBytes(StandardCharsets.UTF_8));
    }
    for (int i = 0; i < 3; i++) {
      assertThat(messages.hasNext()).isTrue();
      assertThat(new String(messages.next().payload(), StandardCharsets.UTF_8)).isEqualTo("m" + i);
    }
    assertThat(messages.next(Duration.ofMillis(50))).isNull();
    // A reader that stops: the buffer keeps five, the rest are dropped and counted.
    for (int i = 0; i < 20; i++) {
      client.publish("it.x", ("n" + i).getBytes(StandardCharsets.UTF_8));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> messages.dropped() == 15);
    assertThat(new String(messages.next(Duration.ofSeconds(5)).payload(), StandardCharsets.UTF_8))
        .isEqualTo("n0");
    messages.close();
    assertThat(messages.hasNext()).isFalse();
    assertThat(messages.next(Duration.ofMillis(10))).isNull();
  }

  @Test
  void manyAsynchronousAcksAreAppliedEachOnce() {
    client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"Q\",\"subjects\":[\"q.>\"]}");
    client.admin(
        Admin.Op.CONSUMER_CREATE,
        "{\"stream\":\"Q\",\"config\":{\"name\":\"w\",\"maxAckPending\":1000}}");
    for (int i = 0; i < 500; i++) {
      client.publishAsync(PublishBuilder.to("q.x", "m" + i));
    }
    client.publish("q.x", "last".getBytes(StandardCharsets.UTF_8));
    java.util.List<DeliveryEntry> all = new java.util.ArrayList<>();
    while (all.size() < 501) {
      all.addAll(client.fetch("Q", "w", "m", 501 - all.size(), 1000));
    }
    java.util.List<java.util.concurrent.CompletableFuture<Boolean>> acks =
        all.stream().map(d -> client.ackAsync("Q", "w", d)).toList();
    assertThat(acks).allSatisfy(f -> assertThat(f.join()).isTrue());
    // Acknowledged already: a second ack changes nothing and says so.
    assertThat(client.ack("Q", "w", all.get(0))).isFalse();
    assertThat(client.admin(Admin.Op.CONSUMER_INFO, "{\"stream\":\"Q\",\"name\":\"w\"}"))
        .contains("\"unacknowledged\":0");
  }

  @Test
  void creditsBoundAPushConsumerAndAGrantWidensIt() {
    client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"P\",\"subjects\":[\"p.>\"]}");
    client.admin(
        Admin.Op.CONSUMER_CREATE,
        "{\"stream\":\"P\",\"config\":{\"name\":\"fire\",\"ackPolicy\":\"none\"}}");
    for (int i = 0; i < 10; i++) {
      client.publish("p.x", ("m" + i).getBytes(StandardCharsets.UTF_8));
    }
    ConcurrentLinkedQueue<DeliveryEntry> got = new ConcurrentLinkedQueue<>();
    AtomicLong seen = new AtomicLong();
    SwitchboardClient.Subscription sub =
        client.consume(
            "P",
            "fire",
            "m1",
            3,
            d -> {
              got.add(d);
              seen.incrementAndGet();
            });
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.get() == 3);
    // Ack policy none: nothing returns a credit, so the window stays at three...
    assertThat(client.publish("p.x", "probe".getBytes(StandardCharsets.UTF_8)).offset())
        .isEqualTo(10);
    assertThat(client.fetch("P", "fire", "other", 1, 0)).hasSize(1); // the consumer is not stuck
    assertThat(seen.get()).isEqualTo(3);
    // ...until the client grants more.
    sub.grant(4);
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.get() == 7);
    sub.close();
  }
}
