package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionLogTest {
  @TempDir Path dir;

  final ManualClock clock = new ManualClock();

  PartitionLog open(LogConfig config) {
    return PartitionLog.open(
        dir, config, new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
  }

  static LogConfig small(FsyncPolicy p) {
    return LogConfig.defaults(p).withSegmentBytes(4096).withIndexIntervalBytes(256);
  }

  @Test
  void shouldAssignContiguousOffsetsAndReadEveryRecordBack() {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      long n = 0;
      for (int i = 0; i < 50; i++) {
        int count = 1 + i % 5;
        AppendResult r = log.append(TestBatches.batch(n, count, 100, 1000 + n)).join();
        assertThat(r.baseOffset()).isEqualTo(n);
        assertThat(r.lastOffset()).isEqualTo(n + count - 1);
        n += count;
      }
      assertThat(log.logEndOffset()).isEqualTo(n);
      assertThat(log.segmentCount()).isGreaterThan(3);
      List<Record> all = TestBatches.readAll(log);
      assertThat(all).hasSize((int) n);
      for (int i = 0; i < n; i++) {
        assertThat(all.get(i).offset()).isEqualTo(i);
        assertThat(all.get(i).valueBytes()).isEqualTo(TestBatches.valueOf(i, 100));
        assertThat(all.get(i).subject()).isEqualTo("test." + i);
      }
      // Every offset can be the start of a read, through the sparse index.
      for (long o = 0; o < n; o++) {
        RecordBatch first = log.read(o, 1).batches().getFirst();
        assertThat(first.baseOffset()).isLessThanOrEqualTo(o);
        assertThat(first.lastOffset()).isGreaterThanOrEqualTo(o);
      }
    }
  }

  @Test
  void readAtTheEndIsEmptyAndOutsideTheRangeIsACodedError() {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      log.append(TestBatches.batch(0, 3, 10, 1)).join();
      assertThat(log.read(3, 100).isEmpty()).isTrue();
      assertThatThrownBy(() -> log.read(4, 100))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.LOG_OFFSET_OUT_OF_RANGE));
      assertThatThrownBy(() -> log.read(-1, 100)).isInstanceOf(SwitchboardException.class);
    }
  }

  @Test
  void shouldServeReadsAsFileRegionsWithoutParsing() throws Exception {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      for (int i = 0; i < 5; i++) {
        log.append(TestBatches.batch(i * 2L, 2, 50, 1)).join();
      }
      LogReadResult r = log.read(0, 1 << 20);
      ByteArrayOutputStream sink = new ByteArrayOutputStream();
      long sent = r.transferTo(Channels.newChannel(sink));
      assertThat(sent).isEqualTo(r.sizeInBytes());
      List<RecordBatch> parsed = RecordBatch.readAll(java.nio.ByteBuffer.wrap(sink.toByteArray()));
      assertThat(parsed).hasSize(5);
      assertThat(parsed).allMatch(RecordBatch::isValid);
    }
  }

  @Test
  void shouldReopenCleanlyWithoutLosingAnythingOrScanning() throws Exception {
    long n = 0;
    try (PartitionLog log = open(small(FsyncPolicy.INTERVAL))) {
      for (int i = 0; i < 40; i++) {
        log.append(TestBatches.batch(n, 3, 80, 5000 + n)).join();
        n += 3;
      }
    }
    assertThat(Files.exists(dir.resolve(PartitionLog.CLEAN_SHUTDOWN))).isTrue();
    try (PartitionLog log = open(small(FsyncPolicy.INTERVAL))) {
      assertThat(Files.exists(dir.resolve(PartitionLog.CLEAN_SHUTDOWN))).isFalse();
      assertThat(log.logEndOffset()).isEqualTo(n);
      assertThat(TestBatches.readAll(log)).hasSize((int) n);
      AppendResult next = log.append(TestBatches.batch(n, 1, 10, 1)).join();
      assertThat(next.baseOffset()).isEqualTo(n);
    }
  }

  @Test
  void shouldFindOffsetsByTimestamp() {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      for (int i = 0; i < 100; i++) {
        log.append(TestBatches.batch(i * 2L, 2, 60, 10_000 + i * 10L)).join();
      }
      // Record 2i has timestamp 10_000 + 10i, record 2i+1 has 10_001 + 10i.
      assertThat(log.offsetForTimestamp(0)).isEqualTo(0);
      assertThat(log.offsetForTimestamp(10_000)).isEqualTo(0);
      assertThat(log.offsetForTimestamp(10_001)).isEqualTo(1);
      assertThat(log.offsetForTimestamp(10_002)).isEqualTo(2);
      assertThat(log.offsetForTimestamp(10_500)).isEqualTo(100);
      assertThat(log.offsetForTimestamp(10_991)).isEqualTo(199);
      assertThat(log.offsetForTimestamp(10_992)).isEqualTo(-1);
    }
  }

  @Test
  void shouldFindTheFirstRecordWithTheLargestTimestamp() {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      assertThat(log.maxTimestampOffset(log.logEndOffset())).isNull();
      for (int i = 0; i < 100; i++) {
        // out of order, with repeats: the largest stamp (10_000 + 960 + 1) recurs
        log.append(TestBatches.batch(i * 2L, 2, 60, 10_000 + (i * 37 % 50) * 20L)).join();
      }
      assertThat(log.segmentCount()).isGreaterThan(3);
      List<Record> all = TestBatches.readAll(log);
      for (long end : new long[] {1, 2, 3, 57, 101, 150, 199, 200}) {
        assertThat(log.maxTimestampOffset(end)).as("end %d", end).isEqualTo(expected(all, 0, end));
      }
      assertThat(log.maxTimestampOffset(0)).isNull();
      long[] whole = log.maxTimestampOffset(200);
      assertThat(whole[1]).isEqualTo(10_000 + 49 * 20 + 1);
      // the log start cuts the first occurrence's segment: the next one is found
      log.deleteRecordsBefore(whole[0] + 1);
      long start = log.logStartOffset();
      assertThat(log.maxTimestampOffset(200)).isEqualTo(expected(all, start, 200));
      assertThat(log.maxTimestampOffset(200)[0]).isGreaterThan(whole[0]);
    }
  }

  /** The first record in [from, to) with the largest timestamp, by reading them all. */
  private static long[] expected(List<Record> all, long from, long to) {
    long[] best = null;
    for (Record r : all) {
      if (r.offset() >= from && r.offset() < to && (best == null || r.timestamp() > best[1])) {
        best = new long[] {r.offset(), r.timestamp()};
      }
    }
    return best;
  }

  @Test
  void shouldRollSegmentsByAge() {
    LogConfig config = small(FsyncPolicy.NEVER).withSegmentBytes(1 << 20).withSegmentMs(1000);
    try (PartitionLog log = open(config)) {
      log.append(TestBatches.batch(0, 1, 10, 1)).join();
      log.append(TestBatches.batch(1, 1, 10, 1)).join();
      assertThat(log.segmentCount()).isEqualTo(1);
      clock.ms.addAndGet(1000);
      log.append(TestBatches.batch(2, 1, 10, 1)).join();
      assertThat(log.segmentCount()).isEqualTo(2);
    }
  }

  @Test
  void shouldDeleteWholeSegmentsByAgeBytesAndStartOffset() {
    LogConfig config = small(FsyncPolicy.NEVER).withRetention(60_000, -1);
    try (PartitionLog log = open(config)) {
      long now = clock.nowMs();
      for (int i = 0; i < 30; i++) {
        log.append(TestBatches.batch(i * 4L, 4, 200, now - 120_000 + i * 1000L)).join();
      }
      int before = log.segmentCount();
      assertThat(before).isGreaterThan(5);
      // Records up to about 61 s old expire; retention never removes the active segment.
      int deleted = log.enforceRetention();
      assertThat(deleted).isGreaterThan(0);
      assertThat(log.logStartOffset()).isGreaterThan(0);
      List<Record> left = TestBatches.readAll(log);
      assertThat(left.getFirst().offset()).isEqualTo(log.logStartOffset());
      assertThat(left.getLast().offset()).isEqualTo(119);
      assertThatThrownBy(() -> log.read(0, 100)).isInstanceOf(SwitchboardException.class);
    }
  }

  @Test
  void shouldDeleteOldestSegmentsWhenOverTheByteLimit() {
    LogConfig config = small(FsyncPolicy.NEVER).withRetention(-1, 10_000);
    try (PartitionLog log = open(config)) {
      for (int i = 0; i < 60; i++) {
        log.append(TestBatches.batch(i, 1, 500, 1)).join();
      }
      log.enforceRetention();
      assertThat(log.sizeInBytes()).isLessThan(10_000 + 4096);
      assertThat(log.logEndOffset()).isEqualTo(60);
      assertThat(TestBatches.readAll(log).getLast().offset()).isEqualTo(59);
    }
  }

  @Test
  void deleteRecordsBeforeMovesTheStartDurably() {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      for (int i = 0; i < 60; i++) {
        log.append(TestBatches.batch(i, 1, 300, 1)).join();
      }
      log.deleteRecordsBefore(37);
      assertThat(log.logStartOffset()).isEqualTo(37);
      assertThat(TestBatches.readAll(log).getFirst().offset()).isEqualTo(37);
    }
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      assertThat(log.logStartOffset()).isEqualTo(37);
      assertThatThrownBy(() -> log.read(36, 10))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.LOG_OFFSET_OUT_OF_RANGE));
    }
  }

  @Test
  void groupCommitCompletesEveryAppendThatOneForceCovers() {
    try (PartitionLog log = open(small(FsyncPolicy.ALWAYS))) {
      CompletableFuture<?>[] futures = new CompletableFuture<?>[16];
      for (int i = 0; i < futures.length; i++) {
        futures[i] = log.append(TestBatches.batch(i, 1, 20, 1));
      }
      assertThat(futures).noneMatch(CompletableFuture::isDone);
      assertThat(log.durableOffset()).isZero();
      int completed = log.doFlushWork();
      assertThat(completed).isEqualTo(16);
      assertThat(futures).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
      assertThat(log.durableOffset()).isEqualTo(16);
      assertThat(log.doFlushWork()).isZero();
    }
  }

  @Test
  void anAppendPastThePendingBoundForcesInline() {
    LogConfig config = small(FsyncPolicy.ALWAYS).withMaxPendingFlushes(4);
    try (PartitionLog log = open(config)) {
      CompletableFuture<?>[] futures = new CompletableFuture<?>[4];
      for (int i = 0; i < 4; i++) {
        futures[i] = log.append(TestBatches.batch(i, 1, 20, 1));
      }
      assertThat(futures).allMatch(CompletableFuture::isDone);
    }
  }

  @Test
  void appendsAfterCloseAreRefusedWithACode() {
    PartitionLog log = open(small(FsyncPolicy.NEVER));
    log.close();
    assertThatThrownBy(() -> log.append(TestBatches.batch(0, 1, 1, 1)))
        .isInstanceOfSatisfying(
            SwitchboardException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LOG_CLOSED));
  }

  @Test
  void compressedBatchesAreStoredAsIsAndReadBack() {
    try (PartitionLog log = open(small(FsyncPolicy.NEVER))) {
      for (Compression c : Compression.values()) {
        long base = log.logEndOffset();
        log.append(TestBatches.batch(base, 7, 100, 1, 3, c)).join();
      }
      List<Record> all = TestBatches.readAll(log);
      assertThat(all).hasSize(35);
      for (Record r : all) {
        assertThat(r.valueBytes()).isEqualTo(TestBatches.valueOf(r.offset(), 100));
      }
    }
  }
}
