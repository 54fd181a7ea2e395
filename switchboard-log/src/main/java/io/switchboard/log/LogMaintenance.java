package io.switchboard.log;

import io.switchboard.core.SwitchboardException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs retention and compaction for a set of logs on one background thread, every {@code periodMs}.
 * Appends never wait for it: retention and compaction hold only the log's maintenance lock while
 * they do I/O. Thread-safe.
 */
public final class LogMaintenance implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LogMaintenance.class);

  /** 30 s: retention is by whole segments, so checking more often finds nothing new. */
  public static final long DEFAULT_PERIOD_MS = 30_000;

  private final Set<PartitionLog> logs = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService executor;
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong passes = new AtomicLong();

  /** Starts the background thread. */
  public LogMaintenance(long periodMs) {
    executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("sb-log-maintenance").unstarted(r));
    executor.scheduleWithFixedDelay(this::runOnce, periodMs, periodMs, TimeUnit.MILLISECONDS);
  }

  public void register(PartitionLog log) {
    logs.add(log);
  }

  public void unregister(PartitionLog log) {
    logs.remove(log);
  }

  /** Runs retention, then compaction where configured, on every registered log, now. */
  public void runOnce() {
    for (PartitionLog log : logs) {
      try {
        log.enforceRetention();
        if (log.config().compacts()) {
          log.compact();
        }
      } catch (SwitchboardException e) {
        // One log's trouble (closed, failed, damaged) must not stop maintenance of the others.
        failures.incrementAndGet();
        LOG.warn("SB-LOG-1004 {}: maintenance failed: {}", log.dir(), e.getMessage());
      }
    }
    passes.incrementAndGet();
  }

  /** Completed passes over all logs. */
  public long passes() {
    return passes.get();
  }

  /** Per-log maintenance failures so far. */
  public long failures() {
    return failures.get();
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
        LOG.warn("SB-LOG-1005 log maintenance did not stop within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
