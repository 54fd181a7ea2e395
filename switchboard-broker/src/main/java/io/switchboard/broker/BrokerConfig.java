package io.switchboard.broker;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.StreamCatalog;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.log.io.StorageIO;
import java.nio.file.Path;

/**
 * Settings of a broker engine. Immutable.
 *
 * @param dataDir where stream definitions and partition logs live
 * @param live live bus bounds
 * @param runnerThreads threads that run partition agents (partitions are spread over them)
 * @param partitionQueue publishes queued per partition before back-pressure
 * @param maintenancePeriodMs how often retention and compaction run
 * @param maxStreamSubjects subject patterns one stream may capture
 * @param storage the file layer every file of the broker goes through: stream definitions,
 *     partition logs, consumer state, delay buckets (tests put a simulated disk here)
 * @param threading whether runners have threads, or the caller drives them ({@link
 *     Broker#doWork()})
 * @param flusherThreads threads that force every partition log (group commit, segment seals),
 *     whatever the number of partitions; none in {@link ThreadingMode#INVOKER}
 * @param maxGroups consumer groups whose offsets the broker keeps at most ({@link Broker#groups()})
 * @param maxOffsetsPerGroup committed offsets (stream partitions) one group keeps at most
 */
public record BrokerConfig(
    Path dataDir,
    LiveBusConfig live,
    int runnerThreads,
    int partitionQueue,
    long maintenancePeriodMs,
    int maxStreamSubjects,
    StorageIO storage,
    ThreadingMode threading,
    int flusherThreads,
    int maxGroups,
    int maxOffsetsPerGroup) {

  /** One runner per core: agents never block, so more threads would only contend. */
  public static final int DEFAULT_RUNNER_THREADS = Runtime.getRuntime().availableProcessors();

  /**
   * Four flusher threads: an fsync waits in the kernel rather than on a core, and a few at once
   * keep an SSD's queue busy for any number of partitions; more would only add threads.
   */
  public static final int DEFAULT_FLUSHER_THREADS = 4;

  /** 8,192 publishes per partition: a few cycles' worth; past it producers are pushed back. */
  public static final int DEFAULT_PARTITION_QUEUE = 8192;

  /**
   * 10,000 consumer groups: with {@link #DEFAULT_MAX_OFFSETS_PER_GROUP}, at most 10 million
   * committed offsets (about 100 bytes each in memory) — a bound, not an expected size.
   */
  public static final int DEFAULT_MAX_GROUPS = 10_000;

  /** 1,000 committed offsets per group: a group reading 1,000 partitions. */
  public static final int DEFAULT_MAX_OFFSETS_PER_GROUP = 1_000;

  public BrokerConfig {
    if (dataDir == null
        || live == null
        || runnerThreads < 1
        || partitionQueue < 2
        || maintenancePeriodMs < 1
        || maxStreamSubjects < 1
        || storage == null
        || threading == null
        || flusherThreads < 1
        || maxGroups < 1
        || maxOffsetsPerGroup < 1) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG,
          "broker: dataDir, live, storage and threading must be set, runnerThreads >= 1, partitionQueue >= 2,"
              + " maintenancePeriodMs >= 1, maxStreamSubjects >= 1, flusherThreads >= 1,"
              + " maxGroups >= 1, maxOffsetsPerGroup >= 1");
    }
  }

  /** On the real file system, with dedicated threads. */
  public BrokerConfig(
      Path dataDir,
      LiveBusConfig live,
      int runnerThreads,
      int partitionQueue,
      long maintenancePeriodMs,
      int maxStreamSubjects) {
    this(
        dataDir,
        live,
        runnerThreads,
        partitionQueue,
        maintenancePeriodMs,
        maxStreamSubjects,
        NioStorageIO.INSTANCE,
        ThreadingMode.DEDICATED,
        DEFAULT_FLUSHER_THREADS,
        DEFAULT_MAX_GROUPS,
        DEFAULT_MAX_OFFSETS_PER_GROUP);
  }

  /** With the default bound on subjects per stream. */
  public BrokerConfig(
      Path dataDir,
      LiveBusConfig live,
      int runnerThreads,
      int partitionQueue,
      long maintenancePeriodMs) {
    this(
        dataDir,
        live,
        runnerThreads,
        partitionQueue,
        maintenancePeriodMs,
        StreamCatalog.DEFAULT_MAX_SUBJECTS);
  }

  /** This config with every file going through {@code storage}. */
  public BrokerConfig withStorage(StorageIO storage) {
    return new BrokerConfig(
        dataDir,
        live,
        runnerThreads,
        partitionQueue,
        maintenancePeriodMs,
        maxStreamSubjects,
        storage,
        threading,
        flusherThreads,
        maxGroups,
        maxOffsetsPerGroup);
  }

  /** This config with its agents run as {@code threading} says. */
  public BrokerConfig withThreading(ThreadingMode threading) {
    return new BrokerConfig(
        dataDir,
        live,
        runnerThreads,
        partitionQueue,
        maintenancePeriodMs,
        maxStreamSubjects,
        storage,
        threading,
        flusherThreads,
        maxGroups,
        maxOffsetsPerGroup);
  }

  /** This config with {@code threads} flusher threads. */
  public BrokerConfig withFlusherThreads(int threads) {
    return new BrokerConfig(
        dataDir,
        live,
        runnerThreads,
        partitionQueue,
        maintenancePeriodMs,
        maxStreamSubjects,
        storage,
        threading,
        threads,
        maxGroups,
        maxOffsetsPerGroup);
  }

  /** This config with these bounds on consumer groups' committed offsets. */
  public BrokerConfig withGroupLimits(int groups, int offsetsPerGroup) {
    return new BrokerConfig(
        dataDir,
        live,
        runnerThreads,
        partitionQueue,
        maintenancePeriodMs,
        maxStreamSubjects,
        storage,
        threading,
        flusherThreads,
        groups,
        offsetsPerGroup);
  }

  public static BrokerConfig defaults(Path dataDir) {
    return new BrokerConfig(
        dataDir, LiveBusConfig.DEFAULTS, DEFAULT_RUNNER_THREADS, DEFAULT_PARTITION_QUEUE, 30_000);
  }
}
