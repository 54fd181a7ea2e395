package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Message;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A work-queue stream keeps a message only until every consumer has acknowledged it. The broker
 * runs in {@link ThreadingMode#INVOKER} on a manual clock: the test runs every duty cycle itself,
 * so trimming happens exactly when the clock says, with no waiting.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkQueueTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 4096, 60_000)
            .withThreading(ThreadingMode.INVOKER),
        clock);
  }

  /** Runs duty cycles until {@code f} completes: between them, nothing in the broker moves. */
  static <T> T complete(Broker b, CompletableFuture<T> f) {
    for (int i = 0; i < 1_000 && !f.isDone(); i++) {
      b.doWork();
    }
    assertThat(f).as("completed by the caller's duty cycles").isDone();
    return f.join();
  }

  /** Lets the work-queue trim period pass on the clock and runs one duty cycle. */
  void trimPeriodPasses(Broker b) {
    clock.ms.addAndGet(Broker.WORK_QUEUE_TRIM_MS);
    b.doWork();
  }

  static StreamConfig queue() {
    return StreamConfig.builder("Q", "q.>").partitions(2).retention(Retention.WORK_QUEUE).build();
  }

  static void publish(Broker b, int n) {
    for (int i = 0; i < n; i++) {
      complete(
          b,
          b.publish(
              Message.of("q.k" + i, ("m" + i).getBytes(StandardCharsets.UTF_8), 0),
              PublishOptions.NONE));
    }
  }

  static List<Delivery> drain(Broker b, String consumer, int n) {
    List<Delivery> got = new ArrayList<>();
    while (got.size() < n) {
      got.addAll(complete(b, b.fetch("Q", consumer, "m", 100, 0)));
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
        complete(b, b.ack("Q", "workers", d.partition(), d.offset()));
      }
      assertThat(b.streamInfo("Q").messages()).isEqualTo(50);
      trimPeriodPasses(b);
      assertThat(b.streamInfo("Q").messages()).isZero();
    }
  }

  @Test
  void aPublishIsAcknowledgedByTheCallersDutyCycleAndNoRunnerThread() {
    try (Broker b = open()) {
      b.createStream(queue());
      CompletableFuture<?> ack =
          b.publish(Message.of("q.a", new byte[] {1}, 0), PublishOptions.NONE);
      assertThat(ack).isNotDone();
      b.doWork();
      assertThat(ack).isCompleted();
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
        complete(b, b.ack("Q", "fast", d.partition(), d.offset()));
      }
      // "slow" has not even fetched: everything stays.
      b.trimWorkQueues();
      assertThat(b.streamInfo("Q").messages()).isEqualTo(20);
      List<Delivery> slow = drain(b, "slow", 20);
      Delivery held = slow.getFirst();
      for (Delivery d : slow.subList(1, slow.size())) {
        complete(b, b.ack("Q", "slow", d.partition(), d.offset()));
      }
      // One unacknowledged message keeps itself and what follows it in its partition.
      trimPeriodPasses(b);
      assertThat(b.streamInfo("Q").partitions().get(held.partition()).firstOffset())
          .isEqualTo(held.offset());
      complete(b, b.ack("Q", "slow", held.partition(), held.offset()));
      trimPeriodPasses(b);
      assertThat(b.streamInfo("Q").messages()).isZero();
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
