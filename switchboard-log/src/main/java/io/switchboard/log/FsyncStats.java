package io.switchboard.log;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * How long the logs' fsyncs take, for the whole process: a count, the total time and the longest
 * since the last look — what a metrics registry turns into a rate, a mean and a recent maximum. The
 * fsync of a log segment is the one wait every durable acknowledgement may include, so its latency
 * is the first thing to look at when acknowledgements slow down. Thread-safe, allocation-free.
 */
public final class FsyncStats {
  private static final LongAdder COUNT = new LongAdder();
  private static final LongAdder TOTAL_NANOS = new LongAdder();
  private static final AtomicLong MAX_NANOS = new AtomicLong();

  private FsyncStats() {}

  static void record(long nanos) {
    COUNT.increment();
    TOTAL_NANOS.add(nanos);
    MAX_NANOS.accumulateAndGet(nanos, Math::max);
  }

  /** Fsyncs of log segments since the process started. */
  public static long count() {
    return COUNT.sum();
  }

  /** Their total duration, in nanoseconds. */
  public static long totalNanos() {
    return TOTAL_NANOS.sum();
  }

  /** The longest fsync since the previous call (0 when there was none), in nanoseconds. */
  public static long takeMaxNanos() {
    return MAX_NANOS.getAndSet(0);
  }
}
