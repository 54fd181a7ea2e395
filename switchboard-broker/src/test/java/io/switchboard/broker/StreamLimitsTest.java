package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.Discard;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Record;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Message and byte limits under both discard policies. */
class StreamLimitsTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), Clock.SYSTEM);
  }

  static Message m(int i) {
    return Message.of("l.x", ("m" + i).getBytes(StandardCharsets.UTF_8), 0);
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  @Test
  void dropOldestKeepsTheNewestMaxMessages() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("L", "l.>").maxMessages(128).build());
      for (int i = 0; i < 1000; i++) {
        b.publish(m(i), PublishOptions.NONE).join();
      }
      // The trim runs on the partition's thread after the acknowledgements; once fewer than a
      // step (1/64 of the limit = 2) extra messages remain, nothing moves any more.
      await().atMost(Duration.ofSeconds(10)).until(() -> b.streamInfo("L").messages() <= 129);
      StreamInfo info = b.streamInfo("L");
      assertThat(info.messages()).isBetween(128L, 129L);
      long first = info.partitions().getFirst().firstOffset();
      Record oldest =
          b.read("L", 0, first, 1 << 20).batches().getFirst().records(1 << 20).stream()
              .filter(r -> r.offset() >= first)
              .findFirst()
              .orElseThrow();
      assertThat(new String(oldest.valueBytes(), StandardCharsets.UTF_8)).isEqualTo("m" + first);
      assertThatThrownBy(() -> b.read("L", 0, 0, 100))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.LOG_OFFSET_OUT_OF_RANGE));
    }
  }

  @Test
  void rejectNewRefusesThePublishPastMaxMessagesAndKeepsEverythingStored() {
    try (Broker b = open()) {
      b.createStream(
          StreamConfig.builder("L", "l.>").maxMessages(10).discard(Discard.REJECT_NEW).build());
      for (int i = 0; i < 10; i++) {
        b.publish(m(i), PublishOptions.NONE).join();
      }
      assertThatThrownBy(() -> b.publish(m(10), PublishOptions.NONE).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STREAM_FULL))
          .hasMessageContaining("maxMessages 10");
      assertThat(b.streamInfo("L").messages()).isEqualTo(10);
      assertThat(b.streamInfo("L").partitions().getFirst().firstOffset()).isZero();
    }
  }

  @Test
  void rejectNewRefusesPublishesPastMaxBytes() {
    try (Broker b = open()) {
      b.createStream(
          StreamConfig.builder("L", "l.>").maxBytes(4096).discard(Discard.REJECT_NEW).build());
      int stored = 0;
      boolean full = false;
      for (int i = 0; i < 200 && !full; i++) {
        try {
          b.publish(Message.of("l.x", new byte[200], 0), PublishOptions.NONE).join();
          stored++;
        } catch (CompletionException e) {
          assertThat(codeOf(e)).isEqualTo(ErrorCode.STREAM_FULL);
          full = true;
        }
      }
      assertThat(full).isTrue();
      assertThat(stored).isGreaterThan(5);
      assertThat(b.streamInfo("L").partitions().getFirst().bytes()).isLessThan(4096 + 400);
    }
  }
}
