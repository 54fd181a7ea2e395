package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Record;
import io.switchboard.log.io.DyingIO;
import io.switchboard.log.io.SimulatedDisk;
import io.switchboard.log.io.StorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;

/**
 * {@link PartitionLog#advanceLogStart}: the log start moved in memory without I/O (for the
 * work-queue trimmer and a partition's owner), its checkpoint written by the flusher at most once
 * per {@code fsyncIntervalMs}, before any segment below it is deleted, and by a clean close. A
 * power cut may bring the start back to the last checkpoint, never past the start in memory, and
 * never loses an acknowledged record at or above it.
 */
class LogStartCheckpointTest {
  static final Path DIR = Path.of("/sim/start");

  final ManualClock clock = new ManualClock();

  private static LogConfig config(int segmentBytes) {
    return config(FsyncPolicy.ALWAYS, segmentBytes);
  }

  private static LogConfig config(FsyncPolicy fsync, int segmentBytes) {
    return LogConfig.defaults(fsync).withSegmentBytes(segmentBytes).withIndexIntervalBytes(128);
  }

  private PartitionLog open(StorageIO io, LogConfig config) {
    return PartitionLog.open(DIR, config, new PartitionLog.Options(io, clock, true));
  }

  private static Path checkpoint() {
    return DIR.resolve(PartitionLog.LOG_START_CHECKPOINT);
  }

  private static long durableStart(SimulatedDisk disk) {
    if (!disk.exists(checkpoint())) {
      return -1;
    }
    byte[] b = disk.durableContentOf(checkpoint());
    return b == null || b.length != 12 ? -1 : java.nio.ByteBuffer.wrap(b).getLong(0);
  }

  private static long acked(PartitionLog log, long first, int count) {
    CompletableFuture<AppendResult> f = log.append(TestBatches.batch(first, count, 100, 1));
    log.doFlushWork();
    return f.join().lastOffset();
  }

  @Test
  void aMoveHidesOffsetsAtOnceAndManyMovesShareOneCheckpointAfterTheInterval() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = config(64 * 1024);
    PartitionLog log = open(disk, config);
    acked(log, 0, 10);
    assertThat(log.advanceLogStart(3)).isTrue();
    assertThat(log.logStartOffset()).isEqualTo(3);
    assertThat(TestBatches.readAll(log).getFirst().offset()).isEqualTo(3);
    assertThat(disk.exists(checkpoint())).as("no I/O on the move").isFalse();
    assertThat(log.advanceLogStart(5)).isTrue();
    assertThat(log.advanceLogStart(4)).as("never backwards").isTrue();
    assertThat(log.logStartOffset()).isEqualTo(5);

    log.doFlushWork();
    assertThat(disk.exists(checkpoint())).as("not before the interval").isFalse();
    clock.ms.addAndGet(config.fsyncIntervalMs());
    assertThat(log.doFlushWork()).isPositive();
    assertThat(durableStart(disk)).isEqualTo(5);
    assertThat(log.logStartUnsaved()).isFalse();

    // Nothing moved: a pass writes nothing, however long after.
    clock.ms.addAndGet(10 * config.fsyncIntervalMs());
    assertThat(log.doFlushWork()).isZero();

    assertThatThrownBy(() -> log.advanceLogStart(11))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.LOG_OFFSET_OUT_OF_RANGE));
    log.close();
  }

  @Test
  void underIntervalTheCheckpointNeverNamesMoreThanIsForced() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = config(FsyncPolicy.INTERVAL, 64 * 1024);
    PartitionLog log = open(disk, config);
    long interval = config.fsyncIntervalMs();
    clock.ms.addAndGet(interval);
    log.doFlushWork(); // the interval force, with nothing to force: its clock starts again here
    log.append(TestBatches.batch(0, 10, 100, 1)).join(); // written, not forced
    log.advanceLogStart(10);
    clock.ms.addAndGet(interval / 10);
    log.doFlushWork(); // the checkpoint is due, the force is not
    assertThat(log.durableOffset()).isZero();
    assertThat(durableStart(disk)).as("nothing past the forced end").isEqualTo(-1);
    assertThat(log.logStartUnsaved()).isTrue();
    clock.ms.addAndGet(interval);
    log.doFlushWork(); // the force, then the checkpoint
    assertThat(log.durableOffset()).isEqualTo(10);
    assertThat(durableStart(disk)).isEqualTo(10);
    assertThat(log.logStartUnsaved()).isFalse();
    log.close();
  }

  @Test
  void aCleanCloseWritesAnUnsavedStartAndAPowerCutBeforeTheCheckpointBringsTheOldOneBack() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = config(64 * 1024);
    PartitionLog log = open(disk, config);
    acked(log, 0, 10);
    log.advanceLogStart(7);
    log.close();
    PartitionLog reopened = open(disk, config);
    assertThat(reopened.logStartOffset()).isEqualTo(7);

    reopened.advanceLogStart(9);
    disk.crash(new Random(3));
    PartitionLog recovered = open(disk, config);
    assertThat(recovered.logStartOffset()).as("the last checkpoint, not the move").isEqualTo(7);
    assertThat(TestBatches.readAll(recovered)).hasSize(3);
    recovered.close();
  }

  @Test
  void retentionWritesTheCheckpointBeforeDeletingASegmentBelowAnUnsavedStart() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = config(1024);
    PartitionLog log = open(disk, config);
    long end = 0;
    while (log.segmentCount() < 3) {
      end = acked(log, end, 1) + 1;
    }
    long secondBase = new ArrayList<>(log.segments.keySet()).get(1);
    log.advanceLogStart(secondBase + 1);
    assertThat(log.enforceRetention()).isEqualTo(1);
    assertThat(durableStart(disk)).isEqualTo(secondBase + 1);
    disk.crash(new Random(5));
    PartitionLog recovered = open(disk, config);
    assertThat(recovered.logStartOffset()).isEqualTo(secondBase + 1);
    assertThat(TestBatches.readAll(recovered)).hasSize((int) (end - secondBase - 1));
    recovered.close();
  }

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs().between(1, Long.MAX_VALUE / 2);
  }

  /**
   * Random acknowledged appends, moves of the start, flush passes with time passing, retention and
   * rolls; the process dies after a random number of file-system calls and the power is cut. After
   * recovery the start is never past the start in memory at the death nor past the log's end, and
   * the records from there on are back, gap-free, each as appended; under {@code always} every
   * acknowledged one. Under {@code interval} the checkpoint may be due before the segment's force,
   * so it must never name more than is forced.
   */
  @Property(tries = 150)
  void aPowerCutNeitherLosesAcknowledgedRecordsNorMovesTheStartPastTheMove(
      @ForAll("seeds") long seed) {
    Random random = new Random(seed);
    SimulatedDisk disk = new SimulatedDisk();
    FsyncPolicy fsync = random.nextBoolean() ? FsyncPolicy.ALWAYS : FsyncPolicy.INTERVAL;
    LogConfig config = config(fsync, 1024 + random.nextInt(2048));
    DyingIO io = new DyingIO(disk);
    PartitionLog log = open(io, config);
    io.dieAfter(10 + random.nextInt(200));
    Map<Long, byte[]> written = new HashMap<>();
    List<CompletableFuture<AppendResult>> waiting = new ArrayList<>();
    long startInMemory = 0;
    boolean unsavedAtCut = false;
    try {
      for (int step = 0; step < 400 && !io.dead(); step++) {
        int what = random.nextInt(10);
        if (what < 5) {
          long base = log.logEndOffset();
          int count = 1 + random.nextInt(3);
          for (int i = 0; i < count; i++) {
            written.put(base + i, TestBatches.valueOf(base + i, 100));
          }
          waiting.add(log.append(TestBatches.batch(base, count, 100, 1)));
        } else if (what < 7) {
          long to = startInMemory + random.nextLong(log.logEndOffset() - startInMemory + 1);
          if (log.advanceLogStart(to)) {
            startInMemory = Math.max(startInMemory, to);
          }
        } else if (what < 9) {
          clock.ms.addAndGet(random.nextInt((int) config.fsyncIntervalMs() + 1));
          log.doFlushWork();
        } else if (random.nextBoolean()) {
          log.enforceRetention();
        } else {
          log.roll();
        }
        unsavedAtCut = log.logStartUnsaved();
      }
    } catch (RuntimeException dead) {
      // the process died mid-operation
    }
    long ackedEnd = 0;
    for (CompletableFuture<AppendResult> f : waiting) {
      if (f.isDone() && !f.isCompletedExceptionally()) {
        ackedEnd = Math.max(ackedEnd, f.join().lastOffset() + 1);
      }
    }
    Statistics.label("start unsaved at the cut").collect(unsavedAtCut);
    disk.crash(random);
    PartitionLog recovered = open(disk, config);
    assertThat(recovered.logStartOffset())
        .as("seed %d: the start never comes back past the move", seed)
        .isLessThanOrEqualTo(Math.max(startInMemory, 0));
    assertThat(recovered.logStartOffset())
        .as("seed %d: the start within the log", seed)
        .isLessThanOrEqualTo(recovered.logEndOffset());
    if (fsync == FsyncPolicy.ALWAYS) {
      assertThat(recovered.logEndOffset()).isGreaterThanOrEqualTo(ackedEnd);
    }
    long expected = recovered.logStartOffset();
    for (Record r : TestBatches.readAll(recovered)) {
      assertThat(r.offset()).as("seed %d: gap-free from the start", seed).isEqualTo(expected);
      assertThat(Arrays.equals(written.get(r.offset()), r.valueBytes()))
          .as("seed %d: record %d as appended", seed, r.offset())
          .isTrue();
      expected++;
    }
    assertThat(expected).isEqualTo(recovered.logEndOffset());
    recovered.close();
    Statistics.label("start unsaved at the cut")
        .coverage(c -> c.check(true).percentage(p -> p >= 10));
  }
}
