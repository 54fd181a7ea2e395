package io.switchboard.broker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.stream.PartitionAgent;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message being dead-lettered is never stranded by a full queue: not by the consumer's own full
 * command queue when the dead-letter publish completes, nor by a dead-letter publish refused with
 * back-pressure (retried on its timer, and never delivered again meanwhile).
 */
class DeadLetterBackpressureTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();
  final List<CompletableFuture<Object>> dlqPublishes = new ArrayList<>();
  PartitionAgent writer;

  @AfterEach
  void close() {
    writer.close();
  }

  ConsumerAgent consumer() {
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    writer = new PartitionAgent("S", 0, log, StreamConfig.builder("S", "s.>").build(), clock, 64);
    writer.publish(Message.of("s.a", "poison".getBytes(StandardCharsets.UTF_8), 0), null);
    writer.doWork();
    return new ConsumerAgent(
        "S",
        ConsumerConfig.builder("C").maxDeliver(1).deadLetterSubject("dlq.s").build(),
        List.of(log),
        new ConsumerState(List.of()),
        clock,
        m -> {
          CompletableFuture<Object> f = new CompletableFuture<>();
          dlqPublishes.add(f);
          return f;
        },
        s -> {},
        0);
  }

  /** Fetches the message and gives it back: at maxDeliver 1 that starts its dead-lettering. */
  static void exhaust(ConsumerAgent c) {
    CompletableFuture<List<Delivery>> f = c.fetch("m", 1, 0);
    c.doWork();
    Delivery d = f.join().getFirst();
    CompletableFuture<Boolean> nack =
        c.nack(d.partition(), d.offset(), d.deliveryCount(), 0, "bad");
    c.doWork();
    assertThat(nack.join()).isTrue();
  }

  @Test
  void theOutcomeOfADeadLetterLandsEvenWhenTheCommandQueueIsFull() {
    ConsumerAgent c = consumer();
    exhaust(c);
    assertThat(dlqPublishes).hasSize(1);

    // Fill the command queue until it refuses, with the stable back-pressure code.
    CompletableFuture<Boolean> refused = null;
    for (int i = 0; i < 100_000 && refused == null; i++) {
      CompletableFuture<Boolean> f = c.ack(0, 1_000_000 + i);
      if (f.isCompletedExceptionally()) {
        refused = f;
      }
    }
    assertThat(refused).isNotNull();
    assertThat(codeOf(refused)).isEqualTo(ErrorCode.CONSUMER_BACKPRESSURE);

    dlqPublishes.getFirst().complete(null); // the dead letter is stored, the queue still full
    for (int i = 0; i < 10 && c.deadLettered() == 0; i++) {
      c.doWork();
    }
    assertThat(c.deadLettered()).isEqualTo(1);
    assertThat(c.unacknowledged()).isZero();
  }

  @Test
  void aDeadLetterPublishRefusedForBackPressureIsRetried() {
    ConsumerAgent c = consumer();
    exhaust(c);
    dlqPublishes
        .getFirst()
        .completeExceptionally(
            SwitchboardException.of(ErrorCode.PUBLISH_BACKPRESSURE, "DLQ", 0, 64));
    c.doWork();
    assertThat(c.deadLettered()).isZero();
    assertThat(c.unacknowledged()).isEqualTo(1); // still held, not lost

    // Had its deliveries: waiting for its dead letter, it goes to no member, now or when due.
    CompletableFuture<List<Delivery>> meanwhile = c.fetch("m", 1, 0);
    c.doWork();
    assertThat(meanwhile.join()).isEmpty();
    clock.ms.addAndGet(1_000);
    CompletableFuture<List<Delivery>> due = c.fetch("m", 1, 0);
    c.doWork();
    assertThat(due.join()).isEmpty();
    assertThat(dlqPublishes).hasSize(2);
    dlqPublishes.get(1).complete(null);
    c.doWork();
    assertThat(c.deadLettered()).isEqualTo(1);
    assertThat(c.unacknowledged()).isZero();
  }

  static ErrorCode codeOf(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (CompletionException e) {
      return e.getCause() instanceof SwitchboardException se ? se.code() : null;
    }
  }
}
