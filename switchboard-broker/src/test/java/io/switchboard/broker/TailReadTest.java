package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Ephemeral tail reads: no state in the broker, a wait for the next append, a named executor. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TailReadTest {
  @TempDir Path dir;
  Broker broker;
  final ExecutorService caller =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "caller-loop"));

  @BeforeEach
  void open() {
    broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    broker.createStream(StreamConfig.builder("S", "s.>").partitions(2).build());
  }

  @AfterEach
  void close() {
    broker.close();
    caller.shutdownNow();
  }

  void publish(String subject, String body) {
    broker
        .publish(
            new Message(
                subject,
                "k".getBytes(StandardCharsets.UTF_8),
                List.of(),
                body.getBytes(StandardCharsets.UTF_8),
                0,
                null),
            PublishOptions.NONE)
        .join();
  }

  static List<String> bodies(TailRead r) {
    return r.messages().stream()
        .map(m -> new String(m.message().payload(), StandardCharsets.UTF_8))
        .toList();
  }

  int partitionOfK() {
    publish("s.probe", "probe");
    for (int p = 0; p < 2; p++) {
      if (!broker.tail("S", p, 0, 1 << 20, 0, caller).join().messages().isEmpty()) {
        return p;
      }
    }
    throw new AssertionError("the probe went nowhere");
  }

  @Test
  void whatIsThereIsReadAtOnceAndTheNextOffsetMovesPastIt() {
    int p = partitionOfK();
    publish("s.a", "1");
    publish("s.a", "2");
    TailRead r = broker.tail("S", p, 1, 1 << 20, 10_000, caller).join();
    assertThat(bodies(r)).containsExactly("1", "2");
    assertThat(r.nextOffset()).isEqualTo(3);
    assertThat(r.messages().get(0).offset()).isEqualTo(1);
  }

  @Test
  void aReadAtTheEndWaitsForTheNextAppendAndCompletesOnTheCallersExecutor() throws Exception {
    int p = partitionOfK();
    CompletableFuture<String> thread = new CompletableFuture<>();
    CompletableFuture<TailRead> waiting =
        broker
            .tail("S", p, 1, 1 << 20, 30_000, caller)
            .whenComplete((r, e) -> thread.complete(Thread.currentThread().getName()));
    assertThat(waiting).isNotDone();
    publish("s.a", "late");
    TailRead r = waiting.get(10, TimeUnit.SECONDS);
    assertThat(bodies(r)).containsExactly("late");
    assertThat(r.nextOffset()).isEqualTo(2);
    assertThat(thread.get(10, TimeUnit.SECONDS)).isEqualTo("caller-loop");
  }

  @Test
  void aReadThatFindsNothingCompletesEmptyAtItsDeadline() throws Exception {
    int p = partitionOfK();
    TailRead r = broker.tail("S", p, 1, 1 << 20, 200, caller).get(10, TimeUnit.SECONDS);
    assertThat(r.messages()).isEmpty();
    assertThat(r.nextOffset()).isEqualTo(1);
  }

  @Test
  void aDeletedStreamEndsItsWaitingReadsAndBadArgumentsFailAtOnce() throws Exception {
    int p = partitionOfK();
    CompletableFuture<TailRead> waiting = broker.tail("S", p, 1, 1 << 20, 30_000, caller);
    broker.deleteStream("S");
    assertThat(waiting.get(10, TimeUnit.SECONDS).messages()).isEmpty();
    assertThatThrownBy(() -> broker.tail("S", 0, 0, 1024, 0, caller).get())
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.STREAM_NOT_FOUND));
    broker.createStream(StreamConfig.builder("T", "t.>").build());
    assertThatThrownBy(() -> broker.tail("T", 5, 0, 1024, 0, caller).get())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
  }

  @Test
  void aRawReadReturnsWholeStoredBatchesFromTheOneHoldingTheOffset() {
    int p = partitionOfK(); // offset 0
    publish("s.a", "1"); // 1
    publish("s.a", "2"); // 2
    RawRead r = broker.tailRaw("S", p, 1, 1 << 20, 0, caller).join();
    assertThat(r.highWatermark()).isEqualTo(3);
    assertThat(r.logStartOffset()).isZero();
    java.nio.ByteBuffer b = r.batches();
    // Batch headers: base offset (8), length (4); each publish is its own batch here.
    List<Long> bases = new java.util.ArrayList<>();
    int at = 0;
    while (at < b.limit()) {
      bases.add(b.getLong(at));
      at += b.getInt(at + 8) + 12;
    }
    assertThat(at).isEqualTo(b.limit());
    assertThat(bases).containsExactly(1L, 2L);
    assertThat(broker.partitionBounds("S", p)).isEqualTo(new PartitionBounds(0, 3));
  }

  @Test
  void aRawReadPastTheEndWaitsAndOneOutsideThePartitionFails() throws Exception {
    int p = partitionOfK();
    CompletableFuture<RawRead> waiting = broker.tailRaw("S", p, 1, 1 << 20, 30_000, caller);
    assertThat(waiting).isNotDone();
    publish("s.a", "next");
    RawRead r = waiting.get(10, TimeUnit.SECONDS);
    assertThat(r.batches().getLong(0)).isEqualTo(1);
    assertThatThrownBy(() -> broker.tailRaw("S", p, 5, 1 << 20, 0, caller).join())
        .hasCauseInstanceOf(SwitchboardException.class)
        .satisfies(
            e ->
                assertThat(((SwitchboardException) e.getCause()).code())
                    .isEqualTo(ErrorCode.LOG_OFFSET_OUT_OF_RANGE));
  }

  @Test
  void aCancelledReadGivesUpItsPlaceAtOnce() {
    int p = partitionOfK();
    // Fill the partition's places for waiting reads, then cancel them all: a new waiting read is
    // taken (it would fail with TOO_MANY_WAITING_FETCHES if the cancelled ones still held theirs).
    List<CompletableFuture<RawRead>> waiting = new java.util.ArrayList<>();
    for (int i = 0; i < TailReader.MAX_WAITING_PER_PARTITION; i++) {
      waiting.add(broker.tailRaw("S", p, 1, 1 << 20, 60_000, caller));
    }
    assertThatThrownBy(() -> broker.tailRaw("S", p, 1, 1 << 20, 60_000, caller).join())
        .hasCauseInstanceOf(SwitchboardException.class)
        .satisfies(
            e ->
                assertThat(((SwitchboardException) e.getCause()).code())
                    .isEqualTo(ErrorCode.TOO_MANY_WAITING_FETCHES));
    waiting.forEach(w -> w.cancel(false));
    CompletableFuture<RawRead> next = broker.tailRaw("S", p, 1, 1 << 20, 60_000, caller);
    publish("s.a", "next");
    assertThat(next.join().batches().remaining()).isPositive();
  }
}
