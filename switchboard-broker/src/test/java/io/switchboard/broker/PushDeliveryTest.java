package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Push delivery: messages follow each member's credits. */
class PushDeliveryTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 4096, 60_000), Clock.SYSTEM);
  }

  static void publish(Broker b, int n) {
    for (int i = 0; i < n; i++) {
      b.publish(
              Message.of("p.x", ("m" + i).getBytes(StandardCharsets.UTF_8), 0), PublishOptions.NONE)
          .join();
    }
  }

  static String body(Delivery d) {
    return new String(d.message().payload(), StandardCharsets.UTF_8);
  }

  @Test
  void aPushedMemberThatAcknowledgesGetsEverythingOnce() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      b.createConsumer("P", ConsumerConfig.builder("c").build());
      publish(b, 100);
      Set<String> got = ConcurrentHashMap.newKeySet();
      AtomicReference<PushSubscription> sub = new AtomicReference<>();
      sub.set(
          b.push(
              "P",
              "c",
              "m",
              5,
              d -> {
                got.add(body(d));
                sub.get().ack(d);
              }));
      try (PushSubscription s = sub.get()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 100);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> b.consumerInfo("P", "c").unacknowledged() == 0);
        assertThat(s.availableCredits()).isEqualTo(5);
      }
    }
  }

  @Test
  void aCumulativeAckSettlesAWindowAtOnceAndReturnsItsCredits() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      b.createConsumer("P", ConsumerConfig.builder("c").build());
      publish(b, 30);
      List<Delivery> got = new CopyOnWriteArrayList<>();
      try (PushSubscription s = b.push("P", "c", "m", 10, got::add)) {
        for (int window = 1; window <= 3; window++) {
          int expected = window * 10;
          await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == expected);
          // Every pushed message up to the last, in one call (AMQP basic.ack multiple=true).
          assertThat(s.ackUpTo(got.getLast()).join()).isEqualTo(10);
        }
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> b.consumerInfo("P", "c").unacknowledged() == 0);
        assertThat(got).extracting(PushDeliveryTest::body).doesNotHaveDuplicates().hasSize(30);
        assertThat(s.availableCredits()).isEqualTo(10);
        assertThat(b.ackUpTo("P", "c", "m", Long.MAX_VALUE).join()).isZero();
      }
    }
  }

  @Test
  void aMemberNeverHoldsMoreThanItsCreditsAndTheOthersGetTheRest() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      b.createConsumer("P", ConsumerConfig.builder("c").build());
      publish(b, 60);
      List<Delivery> slowHolds = new CopyOnWriteArrayList<>();
      Set<String> fastDone = ConcurrentHashMap.newKeySet();
      AtomicReference<PushSubscription> fast = new AtomicReference<>();
      try (PushSubscription slow = b.push("P", "c", "slow", 3, slowHolds::add)) {
        fast.set(
            b.push(
                "P",
                "c",
                "fast",
                10,
                d -> {
                  fastDone.add(body(d));
                  fast.get().ack(d);
                }));
        try (PushSubscription f = fast.get()) {
          await()
              .atMost(Duration.ofSeconds(10))
              .until(() -> fastDone.size() + slowHolds.size() == 60);
          // The slow member never acknowledges: it holds exactly its three credits' worth.
          await()
              .during(Duration.ofMillis(300))
              .atMost(Duration.ofSeconds(5))
              .until(() -> slowHolds.size() == 3);
          assertThat(slow.availableCredits()).isZero();
          // Once it acknowledges, its credits come back; the fast one has all of its own.
          slowHolds.forEach(slow::ack);
          await().atMost(Duration.ofSeconds(5)).until(() -> slow.availableCredits() == 3);
          await().atMost(Duration.ofSeconds(5)).until(() -> f.availableCredits() == 10);
        }
      }
    }
  }

  @Test
  void aHandlerThatThrowsGivesTheMessageBack() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      b.createConsumer("P", ConsumerConfig.builder("c").build());
      publish(b, 1);
      List<Integer> counts = new CopyOnWriteArrayList<>();
      AtomicReference<PushSubscription> sub = new AtomicReference<>();
      sub.set(
          b.push(
              "P",
              "c",
              "m",
              1,
              d -> {
                counts.add(d.deliveryCount());
                if (d.deliveryCount() == 1) {
                  throw new IllegalStateException("first time fails");
                }
                sub.get().ack(d);
              }));
      try (PushSubscription s = sub.get()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> counts.size() == 2);
        assertThat(counts).containsExactly(1, 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.availableCredits() == 1);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> b.consumerInfo("P", "c").unacknowledged() == 0);
      }
    }
  }
}
