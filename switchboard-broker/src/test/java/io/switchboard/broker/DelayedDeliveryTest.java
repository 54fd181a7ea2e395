package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.DelayStore;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Messages with a delivery time wait on disk and enter their stream when due. */
class DelayedDeliveryTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  Broker open() {
    return Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), clock);
  }

  static Message delayed(String body, long delayMs) {
    return Message.of("jobs.email", body.getBytes(StandardCharsets.UTF_8), 0)
        .withHeader(
            DelayStore.DELAY_HEADER, Long.toString(delayMs).getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void aDelayedMessageReachesConsumersAndSubscribersOnlyWhenDue() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("JOBS", "jobs.>").build());
      b.createConsumer("JOBS", ConsumerConfig.builder("workers").build());
      ConcurrentLinkedQueue<Message> live = new ConcurrentLinkedQueue<>();
      b.live().subscribe("jobs.>", null, live::add);

      long publishedAt = clock.nowMs();
      PublishAck ack = b.publish(delayed("later", 30_000), PublishOptions.NONE).join();
      b.publish(
              Message.of("jobs.email", "now".getBytes(StandardCharsets.UTF_8), 0),
              PublishOptions.NONE)
          .join();
      assertThat(ack.delayed()).isTrue();
      assertThat(ack.deliverAtMs()).isEqualTo(publishedAt + 30_000);
      assertThat(ack.stream()).isEqualTo("JOBS");

      await().atMost(Duration.ofSeconds(10)).until(() -> live.size() == 1);
      List<Delivery> first = b.fetch("JOBS", "workers", "m", 10, 0).join();
      assertThat(first).extracting(d -> body(d.message())).containsExactly("now");
      b.ack("JOBS", "workers", 0, first.get(0).offset()).join();
      assertThat(b.delayedCount("JOBS")).isEqualTo(1);
      b.releaseDelayed();
      assertThat(b.streamInfo("JOBS").messages()).isEqualTo(1);

      clock.ms.addAndGet(30_000);
      await().atMost(Duration.ofSeconds(10)).until(() -> b.streamInfo("JOBS").messages() == 2);
      await().atMost(Duration.ofSeconds(10)).until(() -> live.size() == 2);
      List<Delivery> later = b.fetch("JOBS", "workers", "m", 10, 0).join();
      assertThat(later).hasSize(1);
      Message m = later.get(0).message();
      assertThat(body(m)).isEqualTo("later");
      assertThat(m.timestampMs()).isEqualTo(publishedAt + 30_000);
      assertThat(m.header(DelayStore.DELIVER_AT_HEADER))
          .asString(StandardCharsets.US_ASCII)
          .isEqualTo(Long.toString(publishedAt + 30_000));
      assertThat(b.delayedCount("JOBS")).isZero();
    }
  }

  @Test
  void pendingDelaysSurviveARestartAndRetriesWithOneIdAreStoredOnce() {
    long due;
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("JOBS", "jobs.>").build());
      PublishAck ack =
          b.publish(delayed("report", 2 * 3_600_000), PublishOptions.messageId("report-1")).join();
      // A producer's retry of the same publish: kept again, released once.
      b.publish(delayed("report", 2 * 3_600_000), PublishOptions.messageId("report-1")).join();
      due = ack.deliverAtMs();
      assertThat(b.delayedCount("JOBS")).isEqualTo(2);
    }
    try (Broker b = open()) {
      assertThat(b.delayedCount("JOBS")).isEqualTo(2);
      clock.ms.set(due - 60_000);
      b.releaseDelayed();
      assertThat(b.streamInfo("JOBS").messages()).isZero();
      clock.ms.set(due);
      await().atMost(Duration.ofSeconds(10)).until(() -> b.delayedCount("JOBS") == 0);
      assertThat(b.streamInfo("JOBS").messages()).isEqualTo(1);
    }
  }

  @Test
  void aDelayNeedsAStreamAndCannotBeConditional() {
    try (Broker b = open()) {
      assertThatThrownBy(() -> b.publish(delayed("x", 1000), PublishOptions.NONE).join())
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.INVALID_DELAY))
          .hasMessageContaining("no stream captures");
      b.createStream(StreamConfig.builder("JOBS", "jobs.>").build());
      assertThatThrownBy(
              () -> b.publish(delayed("x", 1000), PublishOptions.expectLastOffset(-1)).join())
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.INVALID_DELAY));
      assertThatThrownBy(
              () ->
                  b.publish(
                          Message.of("jobs.x", new byte[0], 0)
                              .withHeader(DelayStore.DELAY_HEADER, new byte[] {'?'}),
                          PublishOptions.NONE)
                      .join())
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.INVALID_DELAY));
      assertThat(b.delayedCount("JOBS")).isZero();
    }
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static String body(Message m) {
    return new String(m.payload(), StandardCharsets.UTF_8);
  }
}
