package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A work-queue stream keeps a message only until every consumer has acknowledged it. */
class WorkQueueTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 4096, 60_000), Clock.SYSTEM);
  }

  static StreamConfig queue() {
    return StreamConfig.builder("Q", "q.>").partitions(2).retention(Retention.WORK_QUEUE).build();
  }

  static void publish(Broker b, int n) {
    for (int i = 0; i < n; i++) {
      b.publish(
              Message.of("q.k" + i, ("m" + i).getBytes(StandardCharsets.UTF_8), 0),
              PublishOptions.NONE)
          .join();
    }
  }

  static List<Delivery> drain(Broker b, String consumer, int n) {
    List<Delivery> got = new ArrayList<>();
    while (got.size() < n) {
      got.addAll(b.fetch("Q", consumer, "m", 100, 1000).join());
    }
    return got;
  }

  @Test
  void theQueueIsEmptyOnceEverythingIsAcknowledged() {
    try (Broker b = open()) {
      b.createStream(queue());
      b.createConsumer("Q", ConsumerConfig.builder("workers").build());
      publish(b, 50);
      for (Delivery d : drain(b, "workers", 50)) {
        b.ack("Q", "workers", d.partition(), d.offset()).join();
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> b.streamInfo("Q").messages() == 0);
    }
  }

  @Test
  void anUnacknowledgedMessageAndASlowerConsumerBothHoldMessagesBack() {
    try (Broker b = open()) {
      b.createStream(queue());
      b.createConsumer("Q", ConsumerConfig.builder("fast").build());
      b.createConsumer("Q", ConsumerConfig.builder("slow").build());
      publish(b, 20);
      List<Delivery> fast = drain(b, "fast", 20);
      for (Delivery d : fast) {
        b.ack("Q", "fast", d.partition(), d.offset()).join();
      }
      // "slow" has not even fetched: everything stays.
      b.trimWorkQueues();
      assertThat(b.streamInfo("Q").messages()).isEqualTo(20);
      List<Delivery> slow = drain(b, "slow", 20);
      Delivery held = slow.getFirst();
      for (Delivery d : slow.subList(1, slow.size())) {
        b.ack("Q", "slow", d.partition(), d.offset()).join();
      }
      // One unacknowledged message keeps itself and what follows it in its partition.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  b.streamInfo("Q").partitions().get(held.partition()).firstOffset()
                      == held.offset());
      b.ack("Q", "slow", held.partition(), held.offset()).join();
      await().atMost(Duration.ofSeconds(10)).until(() -> b.streamInfo("Q").messages() == 0);
    }
  }

  @Test
  void withoutConsumersMessagesWait() {
    try (Broker b = open()) {
      b.createStream(queue());
      publish(b, 10);
      b.trimWorkQueues();
      assertThat(b.streamInfo("Q").messages()).isEqualTo(10);
      b.createConsumer("Q", ConsumerConfig.builder("late").build());
      assertThat(drain(b, "late", 10)).hasSize(10);
    }
  }
}
