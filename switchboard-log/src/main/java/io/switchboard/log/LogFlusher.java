package io.switchboard.log;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thread-safe. The flush work of many partition logs on a fixed number of threads (or on the
 * caller, in manual mode), so the thread count does not grow with partitions. Each log is assigned
 * to one thread when it registers; that thread runs the log's {@link PartitionLog#doFlushWork()}:
 * under {@code fsync=always} one force per pass for every append waiting (group commit), under
 * {@code interval} a force when the interval has passed, and for every policy the sealing of rolled
 * segments.
 *
 * <p>A log asks for a pass with {@link #wake}; it is then queued once (a flag per log keeps it from
 * being queued twice), so each thread's queue never holds more than the logs registered with it.
 * Between wake-ups a thread parks until the next interval flush is due, at most 50 ms.
 */
public final class LogFlusher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LogFlusher.class);

  /** Longest a flusher thread sleeps without a wake-up, so a missed unpark costs little. */
  private static final long MAX_PARK_NS = TimeUnit.MILLISECONDS.toNanos(50);

  /** The logs of one flusher thread. */
  static final class Shard {
    final List<PartitionLog> logs = new CopyOnWriteArrayList<>();
    final Queue<PartitionLog> ready = new ConcurrentLinkedQueue<>();
    volatile Thread thread;

    void wake(PartitionLog log) {
      if (log.flushQueued.compareAndSet(false, true)) {
        ready.add(log);
        Thread t = thread;
        if (t != null) {
          LockSupport.unpark(t);
        }
      }
    }

    /**
     * One pass: the logs that asked, then every log whose interval flush or log-start checkpoint
     * may be due.
     */
    int doWork() {
      int work = 0;
      PartitionLog log;
      while ((log = ready.poll()) != null) {
        log.flushQueued.set(false);
        work += flush(log);
      }
      for (PartitionLog l : logs) {
        if (l.wantsPeriodicFlush()) {
          work += flush(l);
        }
      }
      return work;
    }

    private static int flush(PartitionLog log) {
      try {
        return log.doFlushWork();
      } catch (RuntimeException e) {
        // The log records I/O failures itself; anything else is a bug, which must not stop the
        // other logs of this thread.
        LOG.error("SB-LOG-1007 {}: flush pass failed", log.dir(), e);
        return 1;
      }
    }

    long parkNs() {
      long park = MAX_PARK_NS;
      for (PartitionLog l : logs) {
        park = Math.min(park, l.nanosUntilIntervalFlush());
      }
      return Math.max(1, park);
    }
  }

  private final Shard[] shards;
  private final AtomicInteger nextShard = new AtomicInteger();
  private volatile boolean running = true;

  private LogFlusher(int threads, String name) {
    shards = new Shard[threads];
    for (int i = 0; i < threads; i++) {
      Shard shard = new Shard();
      shards[i] = shard;
      if (name != null) {
        shard.thread =
            Thread.ofPlatform()
                .daemon()
                .name(threads == 1 ? name : name + "-" + i)
                .unstarted(() -> run(shard));
      }
    }
    for (Shard s : shards) {
      if (s.thread != null) {
        s.thread.start();
      }
    }
  }

  /**
   * Starts {@code threads} flusher threads named after {@code name}.
   *
   * @throws IllegalArgumentException when {@code threads < 1}
   */
  public static LogFlusher start(String name, int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("a flusher needs at least one thread: " + threads);
    }
    return new LogFlusher(threads, name);
  }

  /** No thread: the owner runs every pass with {@link #doWork()} (tests, invoker mode). */
  public static LogFlusher manual() {
    return new LogFlusher(1, null);
  }

  /** Called by a log as it opens: from now on one of this flusher's threads flushes it. */
  Shard register(PartitionLog log) {
    Shard shard = shards[Math.floorMod(nextShard.getAndIncrement(), shards.length)];
    shard.logs.add(log);
    return shard;
  }

  /** Called by a log as it closes. A pass under way may still call it; a closed log ignores it. */
  void unregister(PartitionLog log, Shard shard) {
    shard.logs.remove(log);
    shard.ready.remove(log);
  }

  /**
   * One pass over every log, for a manual flusher.
   *
   * @return the work done (appends completed, forces, seals); 0 when idle
   * @throws IllegalStateException on a flusher with threads of its own
   */
  public int doWork() {
    int work = 0;
    for (Shard s : shards) {
      if (s.thread != null) {
        throw new IllegalStateException("this flusher runs its own threads");
      }
      work += s.doWork();
    }
    return work;
  }

  /** Logs registered now (tests). */
  int logCount() {
    int n = 0;
    for (Shard s : shards) {
      n += s.logs.size();
    }
    return n;
  }

  private void run(Shard shard) {
    while (running) {
      if (shard.doWork() == 0) {
        LockSupport.parkNanos(this, shard.parkNs());
      }
    }
  }

  /**
   * Stops the threads after their current pass and waits for them. Logs still registered are not
   * flushed again by this flusher; closing a log flushes it itself.
   */
  @Override
  public void close() {
    running = false;
    for (Shard s : shards) {
      Thread t = s.thread;
      if (t != null) {
        LockSupport.unpark(t);
        try {
          t.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
