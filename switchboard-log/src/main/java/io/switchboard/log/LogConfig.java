package io.switchboard.log;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.ArrayList;
import java.util.List;

/**
 * Settings of one partition log. Immutable; the compact constructor checks every range and reports
 * all bad fields at once.
 *
 * @param segmentBytes roll the active segment when the next batch would make it larger
 * @param segmentMs roll the active segment when its first batch is older than this
 * @param indexIntervalBytes bytes of batches between two sparse index entries
 * @param fsync when appends are forced to disk before they are acknowledged
 * @param fsyncIntervalMs how often {@link FsyncPolicy#INTERVAL} forces
 * @param maxBatchBytes largest batch accepted, compressed or inflated
 * @param maxPendingFlushes appends waiting for an fsync before an append forces inline
 * @param retentionMs delete segments whose newest record is older than this; -1 keeps forever
 * @param retentionBytes delete oldest segments while the log is larger than this; -1 no limit
 * @param cleanup delete only, or compact as well
 * @param deleteRetentionMs how long compaction keeps a tombstone
 * @param compactionMaxKeys most distinct keys one compaction pass remembers
 * @param maxRecordsPerSubject keep at most this many records per subject in sealed segments,
 *     removing the oldest by compaction (needs cleanup {@link CleanupPolicy#DELETE}); -1 no limit
 */
public record LogConfig(
    int segmentBytes,
    long segmentMs,
    int indexIntervalBytes,
    FsyncPolicy fsync,
    long fsyncIntervalMs,
    int maxBatchBytes,
    int maxPendingFlushes,
    long retentionMs,
    long retentionBytes,
    CleanupPolicy cleanup,
    long deleteRetentionMs,
    int compactionMaxKeys,
    long maxRecordsPerSubject) {

  /** 128 MiB: recovery after a crash scans at most one segment, so this bounds restart time. */
  public static final int DEFAULT_SEGMENT_BYTES = 128 * 1024 * 1024;

  /** A week, as Kafka: lets age retention remove data of low-traffic partitions. */
  public static final long DEFAULT_SEGMENT_MS = 7L * 24 * 3600 * 1000;

  /** 4 KiB: one index entry per page keeps a lookup's scan within one page read. */
  public static final int DEFAULT_INDEX_INTERVAL_BYTES = 4096;

  /** 1 s: bounds what a machine crash can lose while keeping fsyncs off the append path. */
  public static final long DEFAULT_FSYNC_INTERVAL_MS = 1000;

  /** 1 MiB + header room, as Kafka's default max message size. */
  public static final int DEFAULT_MAX_BATCH_BYTES = 1024 * 1024 + 12 * 1024;

  /** Bounds the group-commit queue; past it appenders pay for their own fsync (back-pressure). */
  public static final int DEFAULT_MAX_PENDING_FLUSHES = 65_536;

  /** 1 day for tombstones, as Kafka, so slow consumers still see deletes. */
  public static final long DEFAULT_DELETE_RETENTION_MS = 24L * 3600 * 1000;

  /** 1M keys (roughly 100 MB of key copies at worst) bounds one compaction pass's memory. */
  public static final int DEFAULT_COMPACTION_MAX_KEYS = 1_000_000;

  private static final int MIN_SEGMENT_BYTES = 1024;
  private static final int MAX_SEGMENT_BYTES = 1 << 30;

  public LogConfig {
    List<String> problems = new ArrayList<>();
    if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
      problems.add("segmentBytes=" + segmentBytes + " not in [" + MIN_SEGMENT_BYTES + ", 1 GiB]");
    }
    if (segmentMs <= 0) {
      problems.add("segmentMs=" + segmentMs + " must be > 0");
    }
    if (indexIntervalBytes < 1) {
      problems.add("indexIntervalBytes=" + indexIntervalBytes + " must be >= 1");
    }
    if (fsync == null) {
      problems.add("fsync must be set");
    }
    if (fsyncIntervalMs <= 0) {
      problems.add("fsyncIntervalMs=" + fsyncIntervalMs + " must be > 0");
    }
    if (maxBatchBytes < 128 || maxBatchBytes > segmentBytes) {
      problems.add("maxBatchBytes=" + maxBatchBytes + " not in [128, segmentBytes]");
    }
    if (maxPendingFlushes < 1) {
      problems.add("maxPendingFlushes=" + maxPendingFlushes + " must be >= 1");
    }
    if (retentionMs < -1 || retentionMs == 0) {
      problems.add("retentionMs=" + retentionMs + " must be > 0 or -1");
    }
    if (retentionBytes < -1 || retentionBytes == 0) {
      problems.add("retentionBytes=" + retentionBytes + " must be > 0 or -1");
    }
    if (cleanup == null) {
      problems.add("cleanup must be set");
    }
    if (deleteRetentionMs < 0) {
      problems.add("deleteRetentionMs=" + deleteRetentionMs + " must be >= 0");
    }
    if (compactionMaxKeys < 1) {
      problems.add("compactionMaxKeys=" + compactionMaxKeys + " must be >= 1");
    }
    if (maxRecordsPerSubject < -1 || maxRecordsPerSubject == 0) {
      problems.add("maxRecordsPerSubject=" + maxRecordsPerSubject + " must be > 0 or -1");
    }
    if (maxRecordsPerSubject > 0 && cleanup == CleanupPolicy.COMPACT) {
      problems.add(
          "maxRecordsPerSubject needs cleanup DELETE (compaction keeps one per key already)");
    }
    if (!problems.isEmpty()) {
      throw SwitchboardException.of(ErrorCode.INVALID_CONFIG, String.join("; ", problems));
    }
  }

  /** Defaults for everything, with the given fsync policy. */
  public static LogConfig defaults(FsyncPolicy fsync) {
    return new LogConfig(
        DEFAULT_SEGMENT_BYTES,
        DEFAULT_SEGMENT_MS,
        DEFAULT_INDEX_INTERVAL_BYTES,
        fsync,
        DEFAULT_FSYNC_INTERVAL_MS,
        DEFAULT_MAX_BATCH_BYTES,
        DEFAULT_MAX_PENDING_FLUSHES,
        -1,
        -1,
        CleanupPolicy.DELETE,
        DEFAULT_DELETE_RETENTION_MS,
        DEFAULT_COMPACTION_MAX_KEYS,
        -1);
  }

  public LogConfig withSegmentBytes(int value) {
    return new LogConfig(
        value,
        segmentMs,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        Math.min(maxBatchBytes, value),
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withSegmentMs(long value) {
    return new LogConfig(
        segmentBytes,
        value,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        maxBatchBytes,
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withIndexIntervalBytes(int value) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        value,
        fsync,
        fsyncIntervalMs,
        maxBatchBytes,
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withFsyncIntervalMs(long value) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        indexIntervalBytes,
        fsync,
        value,
        maxBatchBytes,
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withMaxBatchBytes(int value) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        value,
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withMaxPendingFlushes(int value) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        maxBatchBytes,
        value,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withRetention(long ms, long bytes) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        maxBatchBytes,
        maxPendingFlushes,
        ms,
        bytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        maxRecordsPerSubject);
  }

  public LogConfig withCompaction(long tombstoneRetentionMs, int maxKeys) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        maxBatchBytes,
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        CleanupPolicy.COMPACT,
        tombstoneRetentionMs,
        maxKeys,
        maxRecordsPerSubject);
  }

  /**
   * Keeps at most {@code n} records per subject: compaction removes a subject's oldest records in
   * sealed segments, counting only what those segments hold.
   */
  public LogConfig withMaxRecordsPerSubject(long n) {
    return new LogConfig(
        segmentBytes,
        segmentMs,
        indexIntervalBytes,
        fsync,
        fsyncIntervalMs,
        maxBatchBytes,
        maxPendingFlushes,
        retentionMs,
        retentionBytes,
        cleanup,
        deleteRetentionMs,
        compactionMaxKeys,
        n);
  }

  /** Whether maintenance runs compaction passes on this log. */
  public boolean compacts() {
    return cleanup == CleanupPolicy.COMPACT || maxRecordsPerSubject > 0;
  }
}
