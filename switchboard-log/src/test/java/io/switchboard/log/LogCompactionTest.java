package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.Header;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogCompactionTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  PartitionLog open(LogConfig config) {
    return PartitionLog.open(
        dir, config, new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
  }

  static LogConfig compacted(long tombstoneMs) {
    return LogConfig.defaults(FsyncPolicy.NEVER)
        .withSegmentBytes(2048)
        .withIndexIntervalBytes(128)
        .withCompaction(tombstoneMs, 1000);
  }

  static ByteBuffer keyed(String key, String value, long ts) {
    return new RecordBatchBuilder(Compression.NONE)
        .appendBytes(
            ts,
            key.getBytes(StandardCharsets.UTF_8),
            value == null ? null : value.getBytes(StandardCharsets.UTF_8),
            List.of())
        .build();
  }

  static ByteBuffer bySubject(String subject, String value, long ts) {
    return new RecordBatchBuilder(Compression.LZ4)
        .appendBytes(
            ts,
            null,
            value.getBytes(StandardCharsets.UTF_8),
            List.of(
                new Header(
                    RecordBatchDescriptor.SUBJECT_HEADER,
                    subject.getBytes(StandardCharsets.UTF_8))))
        .build();
  }

  @Test
  void shouldKeepTheNewestRecordsOfEachSubjectUnderAPerSubjectLimit() {
    LogConfig config =
        LogConfig.defaults(FsyncPolicy.NEVER)
            .withSegmentBytes(2048)
            .withIndexIntervalBytes(128)
            .withMaxRecordsPerSubject(3);
    Map<String, List<Long>> offsetsBySubject = new HashMap<>();
    try (PartitionLog log = open(config)) {
      for (int i = 0; i < 200; i++) {
        String subject = "kv.s" + (i % 5);
        // Keys are ignored in this mode: the limit is per subject, whatever the key.
        ByteBuffer batch =
            new RecordBatchBuilder(Compression.NONE)
                .appendBytes(
                    clock.nowMs(),
                    ("key" + i).getBytes(StandardCharsets.UTF_8),
                    ("v" + i + "-".repeat(30)).getBytes(StandardCharsets.UTF_8),
                    List.of(
                        new Header(
                            RecordBatchDescriptor.SUBJECT_HEADER,
                            subject.getBytes(StandardCharsets.UTF_8))))
                .build();
        long off = log.append(batch).join().baseOffset();
        offsetsBySubject.computeIfAbsent(subject, s -> new java.util.ArrayList<>()).add(off);
      }
      log.roll();
      LogCompactor.Stats stats = log.compact();
      assertThat(stats.recordsRemoved()).isEqualTo(200 - 5 * 3);
      Map<String, List<Long>> left = new HashMap<>();
      for (Record r : TestBatches.readAll(log)) {
        left.computeIfAbsent(r.subject(), s -> new java.util.ArrayList<>()).add(r.offset());
      }
      assertThat(left).hasSize(5);
      offsetsBySubject.forEach(
          (subject, offsets) ->
              assertThat(left.get(subject))
                  .as(subject)
                  .containsExactlyElementsOf(offsets.subList(offsets.size() - 3, offsets.size())));
      // A second pass finds nothing more to remove.
      assertThat(log.compact().recordsRemoved()).isZero();
    }
  }

  @Test
  void shouldRefuseAPerSubjectLimitTogetherWithKeyCompaction() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> compacted(1000).withMaxRecordsPerSubject(2))
        .hasMessageContaining("maxRecordsPerSubject needs cleanup DELETE");
  }

  @Test
  void shouldKeepOnlyTheLatestRecordPerKeyAndKeepOffsets() {
    Map<String, Long> latestOffset = new HashMap<>();
    Map<String, String> latestValue = new HashMap<>();
    try (PartitionLog log = open(compacted(60_000))) {
      for (int i = 0; i < 300; i++) {
        String key = "k" + (i % 7);
        String value = "v" + i + "-".repeat(40);
        long off = log.append(keyed(key, value, clock.nowMs())).join().baseOffset();
        latestOffset.put(key, off);
        latestValue.put(key, value);
      }
      long end = log.logEndOffset();
      log.roll();
      int segmentsBefore = log.segmentCount();
      long sizeBefore = log.sizeInBytes();
      LogCompactor.Stats stats = log.compact();
      assertThat(stats.recordsRemoved()).isEqualTo(300 - 7);
      assertThat(log.sizeInBytes()).isLessThan(sizeBefore / 10);
      assertThat(log.segmentCount()).isEqualTo(segmentsBefore);
      assertThat(log.logEndOffset()).isEqualTo(end);
      List<Record> left = TestBatches.readAll(log);
      assertThat(left).hasSize(7);
      for (Record r : left) {
        String key = new String(r.keyBytes(), StandardCharsets.UTF_8);
        assertThat(r.offset()).isEqualTo(latestOffset.get(key));
        assertThat(new String(r.valueBytes(), StandardCharsets.UTF_8))
            .isEqualTo(latestValue.get(key));
      }
      // New appends continue after the old end; nothing is renumbered.
      assertThat(log.append(keyed("k0", "after", 1)).join().baseOffset()).isEqualTo(end);
    }
    // The compacted state survives a clean restart.
    try (PartitionLog log = open(compacted(60_000))) {
      assertThat(TestBatches.readAll(log)).hasSize(8);
    }
  }

  @Test
  void shouldUseTheSubjectAsKeyWhenRecordsHaveNone() {
    try (PartitionLog log = open(compacted(60_000))) {
      for (int i = 0; i < 100; i++) {
        log.append(bySubject("device." + (i % 3) + ".state", "s" + i, clock.nowMs())).join();
      }
      log.roll();
      log.compact();
      List<Record> left = TestBatches.readAll(log);
      assertThat(left)
          .extracting(Record::subject)
          .containsExactlyInAnyOrder("device.0.state", "device.1.state", "device.2.state");
      assertThat(left)
          .extracting(r -> new String(r.valueBytes(), StandardCharsets.UTF_8))
          .containsExactlyInAnyOrder("s99", "s97", "s98");
    }
  }

  @Test
  void shouldRemoveTombstonesOnlyAfterTheDeleteRetention() {
    try (PartitionLog log = open(compacted(10_000))) {
      log.append(keyed("a", "1", clock.nowMs())).join();
      log.append(keyed("b", "1", clock.nowMs())).join();
      log.append(keyed("a", null, clock.nowMs())).join();
      log.roll();
      log.compact();
      List<Record> left = TestBatches.readAll(log);
      assertThat(left).hasSize(2);
      assertThat(left.get(1).value()).isNull();

      clock.ms.addAndGet(10_001);
      log.compact();
      left = TestBatches.readAll(log);
      assertThat(left).hasSize(1);
      assertThat(left.getFirst().keyBytes()).isEqualTo("b".getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void shouldNeverTouchTheActiveSegment() {
    try (PartitionLog log = open(compacted(60_000))) {
      for (int i = 0; i < 5; i++) {
        log.append(keyed("same", "v" + i, clock.nowMs())).join();
      }
      assertThat(log.compact().recordsRemoved()).isZero();
      assertThat(TestBatches.readAll(log)).hasSize(5);
    }
  }

  @Test
  void anInterruptedSwapIsFinishedOnOpenAndACleanedLeftoverIsDeleted() throws Exception {
    try (PartitionLog log = open(compacted(60_000))) {
      for (int i = 0; i < 60; i++) {
        log.append(keyed("k" + (i % 2), "v" + i + "x".repeat(30), clock.nowMs())).join();
      }
      log.roll();
    }
    // Simulate a crash after the cleaned copy was complete (.swap) but before the rename: build
    // the swap file from a compacted copy of the log made elsewhere.
    Path other = dir.resolveSibling(dir.getFileName() + "-copy");
    Files.createDirectories(other);
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.copy(p, other.resolve(p.getFileName()));
      }
    }
    try (PartitionLog copy =
        PartitionLog.open(
            other,
            compacted(60_000),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true))) {
      copy.compact();
    }
    Path firstLog = dir.resolve(Segment.name(0, Segment.LOG_SUFFIX));
    Files.copy(
        other.resolve(Segment.name(0, Segment.LOG_SUFFIX)),
        dir.resolve(Segment.name(0, Segment.LOG_SUFFIX + PartitionLog.SWAP_SUFFIX)));
    Files.writeString(dir.resolve("00000000000000000042.log.cleaned"), "half-written");
    long originalSize = Files.size(firstLog);
    try (PartitionLog log = open(compacted(60_000))) {
      assertThat(Files.exists(dir.resolve("00000000000000000042.log.cleaned"))).isFalse();
      assertThat(Files.size(firstLog)).isLessThan(originalSize);
      List<Record> all = TestBatches.readAll(log);
      assertThat(all.getLast().offset()).isEqualTo(59);
      assertThat(new String(all.getLast().valueBytes(), StandardCharsets.UTF_8)).startsWith("v59");
    }
  }
}
