package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.io.DyingIO;
import io.switchboard.log.io.SimulatedDisk;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Multi-step operations interrupted at every step: the process "dies" after k file-system calls (k
 * = 0, 1, 2, … until the operation completes), the power is cut, and the log recovers. The result
 * must be all-or-nothing for truncation, and equivalent content for compaction.
 */
class CrashPointTest {
  static final Path DIR = Path.of("/sim/crash-point");
  static final LogConfig CONFIG =
      LogConfig.defaults(FsyncPolicy.ALWAYS)
          .withSegmentBytes(2048)
          .withIndexIntervalBytes(128)
          .withCompaction(Long.MAX_VALUE / 4, 1000);

  final ManualClock clock = new ManualClock();

  /** A log with compacted (gapped) sealed segments and an active one, everything durable. */
  private PartitionLog prepare(DyingIO io) {
    PartitionLog log = PartitionLog.open(DIR, CONFIG, new PartitionLog.Options(io, clock, true));
    for (int i = 0; i < 80; i++) {
      var f = log.append(TestBatches.batch(i, 1, 100, 1000 + i, 4, Compression.NONE));
      log.doFlushWork();
      f.join();
    }
    log.roll();
    log.compact();
    for (int i = 80; i < 90; i++) {
      var f = log.append(TestBatches.batch(i, 1, 100, 1000 + i, 1000, Compression.NONE));
      log.doFlushWork();
      f.join();
    }
    return log;
  }

  private static TreeMap<Long, String> contents(PartitionLog log) {
    TreeMap<Long, String> out = new TreeMap<>();
    for (Record r : TestBatches.readAll(log)) {
      out.put(
          r.offset(),
          new String(r.keyBytes(), StandardCharsets.UTF_8) + "=" + r.value().remaining());
    }
    return out;
  }

  private PartitionLog reopen(SimulatedDisk disk) {
    return PartitionLog.open(DIR, CONFIG, new PartitionLog.Options(disk, clock, true));
  }

  @Test
  void truncationIsAllOrNothingWhereverTheProcessDies() {
    int before = 0;
    int after = 0;
    for (int k = 0; ; k++) {
      SimulatedDisk disk = new SimulatedDisk();
      DyingIO io = new DyingIO(disk);
      PartitionLog log = prepare(io);
      TreeMap<Long, String> full = contents(log);
      // Truncate inside the compacted part: the case that once made a gapped segment the last.
      long to = full.keySet().stream().filter(o -> o > 40).findFirst().orElseThrow();
      TreeMap<Long, String> truncated = new TreeMap<>(full.headMap(to));
      io.dieAfter(k);
      boolean completed;
      try {
        log.truncateTo(to);
        completed = true;
      } catch (SwitchboardException e) {
        completed = false;
      }
      disk.crash(new Random(k * 7919L + 1));
      try (PartitionLog recovered = reopen(disk)) {
        TreeMap<Long, String> got = contents(recovered);
        if (got.equals(full)) {
          before++;
          assertThat(completed).as("k=%d: a completed truncation was undone", k).isFalse();
        } else {
          assertThat(got).as("k=%d: neither before nor after", k).isEqualTo(truncated);
          assertThat(recovered.logEndOffset()).isEqualTo(to);
          after++;
        }
        // The log takes appends right after what it holds.
        long end = recovered.logEndOffset();
        recovered.append(TestBatches.batch(end, 1, 10, 1));
        recovered.doFlushWork();
      }
      if (completed) {
        break;
      }
    }
    assertThat(before).as("crash points that kept everything").isPositive();
    assertThat(after).as("crash points that finished the truncation").isPositive();
  }

  @Test
  void compactionInterruptedAnywhereLeavesEquivalentContent() {
    for (int k = 0; ; k++) {
      SimulatedDisk disk = new SimulatedDisk();
      DyingIO io = new DyingIO(disk);
      PartitionLog log = PartitionLog.open(DIR, CONFIG, new PartitionLog.Options(io, clock, true));
      for (int i = 0; i < 60; i++) {
        var f = log.append(TestBatches.batch(i, 1, 100, 1000 + i, 5, Compression.NONE));
        log.doFlushWork();
        f.join();
      }
      log.roll();
      TreeMap<Long, String> full = contents(log);
      Map<String, Long> latest = new HashMap<>();
      full.forEach((o, v) -> latest.put(v.substring(0, v.indexOf('=')), o));
      io.dieAfter(k);
      boolean completed;
      try {
        log.compact();
        completed = true;
      } catch (SwitchboardException e) {
        completed = false;
      }
      disk.crash(new Random(k * 31L + 5));
      try (PartitionLog recovered = reopen(disk)) {
        TreeMap<Long, String> got = contents(recovered);
        for (Map.Entry<Long, String> e : got.entrySet()) {
          assertThat(full).as("k=%d", k).containsEntry(e.getKey(), e.getValue());
        }
        for (long o : latest.values()) {
          assertThat(got).as("k=%d: latest record %d kept", k, o).containsKey(o);
        }
        assertThat(recovered.logEndOffset()).isEqualTo(60);
        if (completed) {
          assertThat(got).hasSize(latest.size());
        }
      }
      if (completed) {
        assertThat(k).as("compaction took several steps").isGreaterThan(3);
        break;
      }
    }
  }

  @Test
  void dyingIoDiesOnlyOnMutations() throws Exception {
    SimulatedDisk disk = new SimulatedDisk();
    DyingIO io = new DyingIO(disk);
    io.createDirectories(DIR);
    io.dieAfter(0);
    assertThat(io.list(DIR)).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.forceDirectory(DIR))
        .hasMessageContaining("died");
    assertThat(List.of(io.steps())).containsExactly(1L);
  }
}
