package io.switchboard.broker;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ephemeral reads of a partition's tail: "the messages from offset X on, waiting up to N ms for
 * one", with no state kept between reads — the reader holds its own position, as a Kafka fetch or
 * an SSE stream's last event id does. What durable consumers do for acknowledged delivery, this
 * does for followers that only read.
 *
 * <p>A read that finds nothing waits: one append listener per partition log completes the waiting
 * reads when records past their offset arrive, and a timer completes the others empty at their
 * deadline. Reading the log (page cache or disk) happens on the broker's read executor, never on
 * the appender's thread; the result completes on the executor the caller names.
 *
 * <p>Thread safety: thread-safe.
 */
final class TailReader implements AutoCloseable {
  /** Reads waiting on one partition at most; a read past it fails at once. */
  static final int MAX_WAITING_PER_PARTITION = 10_000;

  private final class Waiter {
    final String stream;
    final int partition;
    final PartitionLog log;
    final long from;
    final int maxBytes;
    final CompletableFuture<TailRead> out;
    final Executor completeOn;
    final AtomicBoolean taken = new AtomicBoolean();
    volatile ScheduledFuture<?> timeout;

    Waiter(
        String stream,
        int partition,
        PartitionLog log,
        long from,
        int maxBytes,
        CompletableFuture<TailRead> out,
        Executor completeOn) {
      this.stream = stream;
      this.partition = partition;
      this.log = log;
      this.from = from;
      this.maxBytes = maxBytes;
      this.out = out;
      this.completeOn = completeOn;
    }
  }

  /** The waiting reads of one partition log, and its append listener. */
  private final class Waiting {
    final Queue<Waiter> waiters = new ConcurrentLinkedQueue<>();
    final AtomicInteger count = new AtomicInteger();
    final AutoCloseable listener;
    final PartitionLog log;

    Waiting(PartitionLog log) {
      this.log = log;
      this.listener = log.onAppend(this::appended);
    }

    /** The appender's thread: hands every read the new records satisfy to the read executor. */
    void appended() {
      if (count.get() == 0) {
        return;
      }
      long end = log.readableEndOffset();
      for (Waiter w : waiters) {
        if (w.from < end && take(w)) {
          read(w);
        }
      }
    }

    boolean take(Waiter w) {
      if (!w.taken.compareAndSet(false, true)) {
        return false;
      }
      waiters.remove(w);
      count.decrementAndGet();
      ScheduledFuture<?> t = w.timeout;
      if (t != null) {
        t.cancel(false);
      }
      return true;
    }
  }

  private final ExecutorService reads;
  private final ScheduledExecutorService timers;
  private final Map<PartitionLog, Waiting> waiting = new ConcurrentHashMap<>();

  /**
   * @param reads where logs are read (may block on disk)
   * @param timers where deadlines fire
   */
  TailReader(ExecutorService reads, ScheduledExecutorService timers) {
    this.reads = reads;
    this.timers = timers;
  }

  /**
   * Reads {@code log} from {@code from} on (clamped to its start), up to {@code maxBytes}, waiting
   * up to {@code waitMs} when there is nothing yet; completes on {@code completeOn}.
   */
  CompletableFuture<TailRead> read(
      String stream,
      int partition,
      PartitionLog log,
      long from,
      int maxBytes,
      long waitMs,
      Executor completeOn) {
    CompletableFuture<TailRead> out = new CompletableFuture<>();
    long start = Math.max(from, log.logStartOffset());
    Waiter w = new Waiter(stream, partition, log, start, maxBytes, out, completeOn);
    if (start < log.readableEndOffset() || waitMs <= 0) {
      w.taken.set(true);
      read(w);
      return out;
    }
    Waiting q = waiting.computeIfAbsent(log, Waiting::new);
    if (q.count.incrementAndGet() > MAX_WAITING_PER_PARTITION) {
      q.count.decrementAndGet();
      complete(
          w,
          null,
          SwitchboardException.of(
              ErrorCode.TOO_MANY_WAITING_FETCHES,
              stream + "/" + partition,
              MAX_WAITING_PER_PARTITION));
      return out;
    }
    q.waiters.add(w);
    w.timeout =
        timers.schedule(
            () -> {
              if (q.take(w)) {
                complete(w, new TailRead(List.of(), start), null);
              }
            },
            waitMs,
            TimeUnit.MILLISECONDS);
    // An append between the look above and the registration would have found no waiter.
    if (start < log.readableEndOffset() && q.take(w)) {
      read(w);
    }
    return out;
  }

  private void read(Waiter w) {
    try {
      reads.execute(
          () -> {
            try {
              complete(w, readNow(w), null);
            } catch (RuntimeException e) {
              complete(w, null, e);
            }
          });
    } catch (RejectedExecutionException e) {
      complete(w, null, SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    }
  }

  private static TailRead readNow(Waiter w) {
    List<StoredMessage> out = new ArrayList<>();
    long next = w.from;
    long end = w.log.readableEndOffset();
    for (RecordBatch b : w.log.read(w.from, w.maxBytes).batches()) {
      for (Record r : b.records(w.log.config().maxBatchBytes())) {
        if (r.offset() >= end) {
          return new TailRead(out, next);
        }
        if (r.offset() >= w.from) {
          out.add(StoredMessage.of(w.stream, w.partition, r));
          next = r.offset() + 1;
        }
      }
      next = Math.max(next, Math.min(end, b.nextOffset()));
    }
    return new TailRead(out, next);
  }

  private static void complete(Waiter w, TailRead r, Throwable e) {
    try {
      w.completeOn.execute(
          () -> {
            if (e != null) {
              w.out.completeExceptionally(e);
            } else {
              w.out.complete(r);
            }
          });
    } catch (RejectedExecutionException rejected) {
      // The caller's executor is gone (its connection's loop shut down): nobody waits any more.
      w.out.completeExceptionally(rejected);
    }
  }

  /** Forgets a partition log that closes: its waiting reads complete empty. */
  void closed(PartitionLog log) {
    Waiting q = waiting.remove(log);
    if (q == null) {
      return;
    }
    try {
      q.listener.close();
    } catch (Exception e) {
      // the log is closing anyway
    }
    for (Waiter w : List.copyOf(q.waiters)) {
      if (q.take(w)) {
        complete(w, new TailRead(List.of(), w.from), null);
      }
    }
  }

  @Override
  public void close() {
    for (PartitionLog log : List.copyOf(waiting.keySet())) {
      closed(log);
    }
  }
}
