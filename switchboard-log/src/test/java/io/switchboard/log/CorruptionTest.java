package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Record;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage on disk: flipped bits and truncation in segment and index files. Recovery keeps exactly
 * the batches before the damage, rebuilds indexes, and never serves a corrupt batch.
 */
class CorruptionTest {
  @TempDir Path root;

  static final int ITERATIONS = 40;

  static LogConfig config() {
    return LogConfig.defaults(FsyncPolicy.NEVER)
        .withSegmentBytes(16 * 1024)
        .withIndexIntervalBytes(512);
  }

  /** Writes a log and returns the file position where each batch starts in segment 0. */
  static List<Integer> fill(Path dir, int batches, Random random) {
    List<Integer> starts = new ArrayList<>();
    try (PartitionLog log = PartitionLog.open(dir, config())) {
      long n = 0;
      int pos = 0;
      for (int i = 0; i < batches; i++) {
        int count = 1 + random.nextInt(4);
        ByteBuffer b = TestBatches.batch(n, count, 10 + random.nextInt(200), 1000 + n);
        starts.add(pos);
        pos += b.remaining();
        log.append(b).join();
        n += count;
      }
    }
    return starts;
  }

  static void flipBit(Path file, long position, int bit) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, position);
      one.put(0, (byte) (one.get(0) ^ (1 << bit)));
      ch.write(one.rewind(), position);
    }
  }

  static void checkRecordsExactly(PartitionLog log, long expectedEnd) {
    List<Record> all = TestBatches.readAll(log);
    assertThat(all).hasSize((int) expectedEnd);
    for (Record r : all) {
      assertThat(TestBatches.sameValue(r, TestBatches.valueOf(r.offset(), r.value().remaining())))
          .as("record %d intact", r.offset())
          .isTrue();
    }
  }

  /** First offset of the batch that starts at each position, from a clean read. */
  static long offsetAtBatch(Path dir, int batchIndex) {
    try (PartitionLog log = PartitionLog.open(dir, config())) {
      return log.read(0, 1 << 20).batches().get(batchIndex).baseOffset();
    }
  }

  @Test
  void aFlippedBitInTheActiveSegmentTruncatesExactlyBeforeTheDamagedBatch() throws IOException {
    for (int it = 0; it < ITERATIONS; it++) {
      long seed = 1000 + it;
      Random random = new Random(seed);
      Path dir = root.resolve("flip-" + it);
      List<Integer> starts = fill(dir, 30, random);
      Path segment = dir.resolve(Segment.name(0, Segment.LOG_SUFFIX));
      long size = Files.size(segment);
      long position = random.nextLong(size);
      int damaged = 0;
      while (damaged + 1 < starts.size() && starts.get(damaged + 1) <= position) {
        damaged++;
      }
      long expectedEnd = offsetAtBatch(dir, damaged);
      flipBit(segment, position, random.nextInt(8));
      Files.delete(dir.resolve(PartitionLog.CLEAN_SHUTDOWN)); // as after a crash
      try (PartitionLog log = PartitionLog.open(dir, config())) {
        assertThat(log.logEndOffset())
            .as("seed %d, position %d", seed, position)
            .isEqualTo(expectedEnd);
        checkRecordsExactly(log, expectedEnd);
      }
      assertThat(Files.size(segment)).isEqualTo((long) starts.get(damaged));
    }
  }

  @Test
  void aTruncatedActiveSegmentKeepsEveryWholeBatch() throws IOException {
    for (int it = 0; it < ITERATIONS; it++) {
      long seed = 2000 + it;
      Random random = new Random(seed);
      Path dir = root.resolve("cut-" + it);
      List<Integer> starts = fill(dir, 30, random);
      Path segment = dir.resolve(Segment.name(0, Segment.LOG_SUFFIX));
      long cut = random.nextLong(Files.size(segment));
      int whole = 0;
      long end = Files.size(segment);
      while (whole < starts.size()
          && (whole + 1 < starts.size() ? starts.get(whole + 1) : end) <= cut) {
        whole++;
      }
      long expectedEnd = 0;
      if (whole > 0) {
        try (PartitionLog log = PartitionLog.open(dir, config())) {
          expectedEnd = log.read(0, 1 << 20).batches().get(whole - 1).nextOffset();
        }
      }
      try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
        ch.truncate(cut);
      }
      Files.delete(dir.resolve(PartitionLog.CLEAN_SHUTDOWN));
      try (PartitionLog log = PartitionLog.open(dir, config())) {
        assertThat(log.logEndOffset()).as("seed %d, cut %d", seed, cut).isEqualTo(expectedEnd);
        checkRecordsExactly(log, expectedEnd);
        // And the log takes appends again right after what it kept.
        assertThat(log.append(TestBatches.batch(expectedEnd, 1, 5, 1)).join().baseOffset())
            .isEqualTo(expectedEnd);
      }
    }
  }

  @Test
  void damagedOrTruncatedIndexFilesAreRebuilt() throws IOException {
    for (int it = 0; it < ITERATIONS; it++) {
      Random random = new Random(3000 + it);
      Path dir = root.resolve("index-" + it);
      fill(dir, 200, random);
      long end;
      try (PartitionLog log = PartitionLog.open(dir, config())) {
        end = log.logEndOffset();
        assertThat(log.segmentCount()).isGreaterThan(2);
      }
      List<Path> indexes;
      try (var files = Files.list(dir)) {
        indexes = files.filter(p -> p.toString().endsWith(Segment.INDEX_SUFFIX)).sorted().toList();
      }
      Path victim = indexes.get(random.nextInt(indexes.size()));
      if (random.nextBoolean()) {
        flipBit(victim, random.nextLong(Files.size(victim)), random.nextInt(8));
      } else {
        try (FileChannel ch = FileChannel.open(victim, StandardOpenOption.WRITE)) {
          ch.truncate(random.nextLong(Files.size(victim)));
        }
      }
      try (PartitionLog log = PartitionLog.open(dir, config())) {
        assertThat(log.logEndOffset()).isEqualTo(end);
        checkRecordsExactly(log, end);
        for (long o = 0; o < end; o += 7) {
          var first = log.read(o, 1).batches().getFirst();
          assertThat(first.baseOffset()).isLessThanOrEqualTo(o);
          assertThat(first.lastOffset()).isGreaterThanOrEqualTo(o);
        }
      }
    }
  }

  @Test
  void damageInASealedSegmentIsReportedAndNothingPastItIsServed() throws IOException {
    Random random = new Random(4000);
    Path dir = root.resolve("sealed");
    List<Integer> starts = fill(dir, 200, random);
    Path first = dir.resolve(Segment.name(0, Segment.LOG_SUFFIX));
    int batchIndex = 20;
    long damagedOffset = offsetAtBatch(dir, batchIndex);
    flipBit(first, starts.get(batchIndex) + 70, 3);
    try (PartitionLog log = PartitionLog.open(dir, config())) {
      // Before the damage: served, intact.
      List<Record> before = new ArrayList<>();
      long offset = 0;
      while (offset < damagedOffset) {
        var batches = log.read(offset, 256).batches();
        for (var b : batches) {
          before.addAll(b.records(1 << 20));
          offset = b.nextOffset();
        }
      }
      assertThat(before).hasSize((int) damagedOffset);
      // At and past it: an exact, coded error, every time.
      for (int attempt = 0; attempt < 2; attempt++) {
        assertThatThrownBy(() -> log.read(damagedOffset, 1 << 20))
            .isInstanceOfSatisfying(
                SwitchboardException.class,
                e -> {
                  assertThat(e.code()).isEqualTo(ErrorCode.LOG_CORRUPT_SEGMENT);
                  assertThat(e.getMessage()).contains(first.toString());
                  assertThat(e.getMessage()).contains("position " + starts.get(batchIndex));
                });
      }
      assertThatThrownBy(() -> log.read(damagedOffset + 3, 100))
          .isInstanceOf(SwitchboardException.class);
      // A large read from before the damage stops short of it.
      var spanning = log.read(0, 1 << 20).batches();
      assertThat(spanning.getLast().nextOffset()).isLessThanOrEqualTo(damagedOffset);
    }
    // The damaged file is kept as it is: no silent deletion.
    assertThat(Files.size(first)).isGreaterThan(starts.get(batchIndex));
  }
}
