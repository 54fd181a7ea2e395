package io.switchboard.log;

import io.switchboard.log.format.Record;
import io.switchboard.log.io.SimulatedDisk;
import io.switchboard.testkit.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * One seeded power-loss run: appends with {@code fsync=always} on a {@link SimulatedDisk}, flushing
 * at random moments, then cuts the power (unforced data lost, the last write possibly torn) and
 * recovers, for a few cycles. Returns every violation found rather than asserting, so the
 * planted-bug test can count how often a bug is caught.
 *
 * <p>Checked after each recovery: every acknowledged record is present and byte-identical; what the
 * log serves is a gap-free run of offsets, each holding exactly what was appended at that offset
 * (nothing from after a torn write is served).
 */
final class PowerLossScenario {
  private PowerLossScenario() {}

  static final Path DIR = Path.of("/sim/partition-0");

  /**
   * What a run found.
   *
   * @param problems every violation, each naming the seed
   * @param crashes power cuts simulated
   * @param crashesThatLostWrites cuts after which the log ended before the last append made
   */
  record Outcome(List<String> problems, int crashes, int crashesThatLostWrites) {}

  static Outcome run(long seed, SimulatedDisk disk) {
    Random random = new Random(seed);
    List<String> problems = new ArrayList<>();
    LogConfig config =
        LogConfig.defaults(FsyncPolicy.ALWAYS)
            .withSegmentBytes(2048 + random.nextInt(6 * 1024))
            .withIndexIntervalBytes(64 + random.nextInt(1024));
    ManualClock clock = new ManualClock();
    PartitionLog.Options options = new PartitionLog.Options(disk, clock, true);
    Map<Long, byte[]> written = new HashMap<>();
    long ackedEnd = 0;
    int crashes = 0;
    int lossy = 0;
    int cycles = 1 + random.nextInt(3);
    for (int cycle = 0; cycle < cycles && problems.isEmpty(); cycle++) {
      PartitionLog log = PartitionLog.open(DIR, config, options);
      List<CompletableFuture<AppendResult>> waiting = new ArrayList<>();
      int steps = 20 + random.nextInt(180);
      int flushAt = random.nextInt(steps);
      for (int step = 0; step < steps; step++) {
        long base = log.logEndOffset();
        int count = 1 + random.nextInt(4);
        int size = random.nextInt(400);
        for (int i = 0; i < count; i++) {
          written.put(base + i, TestBatches.valueOf(base + i + 1_000_000L * cycle, size));
        }
        waiting.add(log.append(batchWithValues(base, count, size, cycle)));
        if (step == flushAt || random.nextInt(4) == 0) {
          log.doFlushWork();
        }
        if (random.nextInt(30) == 0) {
          log.roll();
        }
        for (CompletableFuture<AppendResult> f : waiting) {
          if (f.isDone() && !f.isCompletedExceptionally()) {
            ackedEnd = Math.max(ackedEnd, f.join().lastOffset() + 1);
          }
        }
        waiting.removeIf(CompletableFuture::isDone);
      }
      // Power cut: the log object is abandoned, its handles die with the disk.
      long writtenEnd = log.logEndOffset();
      disk.crash(random);
      crashes++;
      PartitionLog recovered;
      try {
        recovered = PartitionLog.open(DIR, config, options);
      } catch (RuntimeException e) {
        problems.add("seed " + seed + ": recovery failed: " + e);
        break;
      }
      check(seed, recovered, written, ackedEnd, problems);
      long end = recovered.logEndOffset();
      if (end < writtenEnd) {
        lossy++;
      }
      written.keySet().removeIf(o -> o >= end);
      ackedEnd = Math.min(ackedEnd, end);
      recovered.close();
    }
    return new Outcome(problems, crashes, lossy);
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

  private static void check(
      long seed,
      PartitionLog log,
      Map<Long, byte[]> written,
      long ackedEnd,
      List<String> problems) {
    if (log.logEndOffset() < ackedEnd) {
      problems.add(
          "seed "
              + seed
              + ": acknowledged up to "
              + (ackedEnd - 1)
              + " but log ends at "
              + log.logEndOffset());
    }
    List<Record> all;
    try {
      all = TestBatches.readAll(log);
    } catch (RuntimeException e) {
      problems.add("seed " + seed + ": read failed after recovery: " + e);
      return;
    }
    long expected = log.logStartOffset();
    for (Record r : all) {
      if (r.offset() != expected) {
        problems.add("seed " + seed + ": offset " + r.offset() + " where " + expected + " belongs");
        return;
      }
      byte[] want = written.get(r.offset());
      if (want == null || !Arrays.equals(want, r.valueBytes())) {
        problems.add("seed " + seed + ": record " + r.offset() + " is not what was appended");
        return;
      }
      expected++;
    }
    if (expected != log.logEndOffset()) {
      problems.add("seed " + seed + ": served up to " + expected + ", end " + log.logEndOffset());
    }
  }
}
