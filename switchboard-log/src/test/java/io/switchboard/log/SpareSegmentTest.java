package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

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
 * The next segment prepared ahead of time (a spare file, {@link PartitionLog#SPARE_SEGMENT}, made
 * by the flusher), so a roll renames it in rather than creating a file and forcing the directory on
 * the append path. Safety first: a power cut while a spare waits unused, during the swap or right
 * after it never loses an acknowledged record, and recovery removes a spare it finds.
 */
class SpareSegmentTest {
  static final Path DIR = Path.of("/sim/spare");

  final ManualClock clock = new ManualClock();

  private static LogConfig config(int segmentBytes) {
    return LogConfig.defaults(FsyncPolicy.ALWAYS)
        .withSegmentBytes(segmentBytes)
        .withIndexIntervalBytes(128);
  }

  private PartitionLog open(StorageIO io, LogConfig config) {
    return PartitionLog.open(DIR, config, new PartitionLog.Options(io, clock, true));
  }

  private static Path spare() {
    return DIR.resolve(PartitionLog.SPARE_SEGMENT);
  }

  private static long acked(PartitionLog log, long first, int count) {
    CompletableFuture<AppendResult> f = log.append(TestBatches.batch(first, count, 100, 1));
    log.doFlushWork();
    return f.join().lastOffset();
  }

  @Test
  void aFlushPassPreparesASpareAndARollRenamesItInstead() {
    SimulatedDisk disk = new SimulatedDisk();
    PartitionLog log = open(disk, config(1024));
    acked(log, 0, 1);
    assertThat(disk.exists(spare())).as("spare made by the flush pass").isTrue();
    long end = 0;
    while (log.segmentCount() < 2) {
      end = acked(log, end + 1, 1);
    }
    assertThat(log.sparesTaken()).as("the roll took the spare").isEqualTo(1);
    // The next flush pass prepares the following one.
    assertThat(disk.exists(spare())).isTrue();
    log.close();
    PartitionLog again = open(disk, config(1024));
    assertThat(TestBatches.readAll(again)).hasSize((int) end + 1);
    assertThat(disk.exists(spare())).as("recovery removes the spare").isFalse();
    again.close();
  }

  @Test
  void aPowerCutWhileASpareWaitsUnusedKeepsEverythingAndRemovesIt() {
    SimulatedDisk disk = new SimulatedDisk();
    PartitionLog log = open(disk, config(64 * 1024));
    long last = acked(log, 0, 3);
    assertThat(disk.exists(spare())).isTrue();
    disk.crash(new Random(1));
    PartitionLog recovered = open(disk, config(64 * 1024));
    assertThat(recovered.logEndOffset()).isEqualTo(last + 1);
    assertThat(disk.exists(spare())).as("an empty pre-created segment is removed").isFalse();
    assertThat(disk.list(DIR).stream().filter(p -> p.toString().endsWith(".log"))).hasSize(1);
    // The log carries on, and its next roll works (inline, or with a new spare).
    long more = acked(recovered, last + 1, 2);
    recovered.roll();
    acked(recovered, more + 1, 1);
    assertThat(TestBatches.readAll(recovered)).hasSize((int) more + 2);
    recovered.close();
  }

  /**
   * A roll that takes the spare, with the process dying after each file-system call in turn (k = 0,
   * 1, 2, …) and the power cut: every acknowledged record is back, the log serves a gap-free run of
   * what was appended, no spare and no empty sealed segment is left, and appending works.
   */
  @Test
  void aPowerCutAtEveryStepOfASwapAndRightAfterItLosesNothingAcknowledged() {
    LogConfig config = config(1024);
    int swapsSeen = 0;
    for (int k = 0; ; k++) {
      SimulatedDisk disk = new SimulatedDisk();
      DyingIO io = new DyingIO(disk);
      PartitionLog log = open(io, config);
      Map<Long, byte[]> written = new HashMap<>();
      long ackedEnd = 0;
      long next = 0;
      // Fill the first segment, everything acknowledged, with a spare prepared.
      while (log.sizeInBytes() + 200 < 1024) {
        ackedEnd = record(written, next, acked(log, next, 1));
        next = ackedEnd;
      }
      assertThat(disk.exists(spare())).isTrue();
      io.dieAfter(k);
      long taken = log.sparesTaken();
      boolean completed = false;
      try {
        // The roll that takes the spare, then appends into the new segment and their flush.
        for (int i = 0; i < 3; i++) {
          written.put(next, TestBatches.valueOf(next, 100)); // may survive unacknowledged
          ackedEnd = record(written, next, acked(log, next, 1));
          next = ackedEnd;
        }
        completed = true;
      } catch (RuntimeException dead) {
        // the process died here
      }
      swapsSeen += log.sparesTaken() > taken ? 1 : 0;
      disk.crash(new Random(k));
      PartitionLog recovered = open(disk, config);
      List<String> problems = new ArrayList<>();
      check("k=" + k, recovered, written, ackedEnd, problems);
      assertThat(problems).isEmpty();
      assertThat(disk.exists(spare())).as("k=%d: spare left", k).isFalse();
      assertThat(emptySealedSegments(disk, recovered)).as("k=%d", k).isEmpty();
      acked(recovered, recovered.logEndOffset(), 1);
      recovered.close();
      if (completed) {
        break;
      }
    }
    assertThat(swapsSeen).as("runs in which the roll had taken the spare").isGreaterThan(1);
  }

  private static long record(Map<Long, byte[]> written, long first, long last) {
    for (long o = first; o <= last; o++) {
      written.put(o, TestBatches.valueOf(o, 100));
    }
    return last + 1;
  }

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs().between(1, Long.MAX_VALUE / 2);
  }

  /**
   * Random appends, flush passes (each may prepare a spare), explicit rolls and small segments, the
   * process dying after a random number of file-system calls and the power cut, for a few cycles.
   */
  @Property(tries = 150)
  void noAcknowledgedRecordIsLostWhereverTheProcessDiesAroundSpares(@ForAll("seeds") long seed) {
    Random random = new Random(seed);
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = config(1024 + random.nextInt(3 * 1024));
    Map<Long, byte[]> written = new HashMap<>();
    long ackedEnd = 0;
    int cycles = 1 + random.nextInt(3);
    for (int cycle = 0; cycle < cycles; cycle++) {
      DyingIO io = new DyingIO(disk);
      PartitionLog log = open(io, config);
      io.dieAfter(5 + random.nextInt(120));
      List<CompletableFuture<AppendResult>> waiting = new ArrayList<>();
      long taken = 0;
      boolean swappedLast = false;
      try {
        for (int step = 0; step < 400 && !io.dead(); step++) {
          long base = log.logEndOffset();
          int count = 1 + random.nextInt(3);
          int size = random.nextInt(300);
          for (int i = 0; i < count; i++) {
            written.put(base + i, TestBatches.valueOf(base + i + 1_000_000L * cycle, size));
          }
          waiting.add(log.append(batchWithValues(base, count, size, cycle)));
          if (random.nextInt(3) == 0) {
            log.doFlushWork();
          }
          if (random.nextInt(25) == 0) {
            log.roll();
          }
          swappedLast = log.sparesTaken() > taken;
          taken = log.sparesTaken();
          ackedEnd = Math.max(ackedEnd, ackedEnd(waiting));
        }
      } catch (RuntimeException dead) {
        // the process died mid-operation
      }
      ackedEnd = Math.max(ackedEnd, ackedEnd(waiting));
      Statistics.label("spare waiting at the cut").collect(disk.exists(spare()));
      Statistics.label("cut in or right after a swap").collect(swappedLast);
      disk.crash(random);
      PartitionLog recovered = open(disk, config);
      List<String> problems = new ArrayList<>();
      check("seed " + seed, recovered, written, ackedEnd, problems);
      assertThat(problems).isEmpty();
      assertThat(disk.exists(spare())).as("spare left after recovery").isFalse();
      assertThat(emptySealedSegments(disk, recovered)).isEmpty();
      long end = recovered.logEndOffset();
      written.keySet().removeIf(o -> o >= end);
      ackedEnd = Math.min(ackedEnd, end);
      recovered.close();
    }
    // The runs must really cut the power in the states this test is about.
    Statistics.label("spare waiting at the cut")
        .coverage(c -> c.check(true).percentage(p -> p >= 10));
    Statistics.label("cut in or right after a swap")
        .coverage(c -> c.check(true).percentage(p -> p >= 2));
  }

  private static long ackedEnd(List<CompletableFuture<AppendResult>> waiting) {
    long end = 0;
    for (CompletableFuture<AppendResult> f : waiting) {
      if (f.isDone() && !f.isCompletedExceptionally()) {
        end = Math.max(end, f.join().lastOffset() + 1);
      }
    }
    return end;
  }

  /** Segment files other than the last that hold nothing: a spare must never end up as one. */
  private static List<Path> emptySealedSegments(SimulatedDisk disk, PartitionLog log) {
    List<Path> logs =
        disk.list(DIR).stream().filter(p -> p.toString().endsWith(".log")).sorted().toList();
    List<Path> empty = new ArrayList<>();
    for (int i = 0; i < logs.size() - 1; i++) {
      if (disk.contentOf(logs.get(i)).length == 0) {
        empty.add(logs.get(i));
      }
    }
    return empty;
  }

  private static java.nio.ByteBuffer batchWithValues(long base, int count, int size, int cycle) {
    var b =
        new io.switchboard.log.format.RecordBatchBuilder(
            io.switchboard.log.format.Compression.NONE);
    for (int i = 0; i < count; i++) {
      b.appendBytes(
          base + i, null, TestBatches.valueOf(base + i + 1_000_000L * cycle, size), List.of());
    }
    return b.build();
  }

  /** As {@link PowerLossScenario}: acknowledged records present, gap-free, each as appended. */
  private static void check(
      String run, PartitionLog log, Map<Long, byte[]> written, long ackedEnd, List<String> out) {
    if (log.logEndOffset() < ackedEnd) {
      out.add(
          run + ": acknowledged up to " + (ackedEnd - 1) + ", log ends at " + log.logEndOffset());
    }
    long expected = log.logStartOffset();
    for (Record r : TestBatches.readAll(log)) {
      if (r.offset() != expected) {
        out.add(run + ": offset " + r.offset() + " where " + expected + " belongs");
        return;
      }
      byte[] want = written.get(r.offset());
      if (want == null || !Arrays.equals(want, r.valueBytes())) {
        out.add(run + ": record " + r.offset() + " is not what was appended");
        return;
      }
      expected++;
    }
    if (expected != log.logEndOffset()) {
      out.add(run + ": served up to " + expected + ", end " + log.logEndOffset());
    }
  }
}
