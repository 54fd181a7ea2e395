package io.switchboard.broker;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.LogReadResult;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.format.RecordBatchDescriptor;
import java.nio.ByteBuffer;
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

  /** What a read makes of the log from its offset on: decoded messages or whole raw batches. */
  interface Reading<T> {
    /** Reads now (on the read executor). */
    T read(String stream, int partition, PartitionLog log, long from, int maxBytes);

    /** What a read that found nothing before its deadline returns. */
    T empty(PartitionLog log, long from);
  }

  private final class Waiter<T> {
    final String stream;
    final int partition;
    final PartitionLog log;
    final long from;
    final int maxBytes;
    final Reading<T> reading;
    final CompletableFuture<T> out;
    final Executor completeOn;
    final AtomicBoolean taken = new AtomicBoolean();
    volatile ScheduledFuture<?> timeout;

    Waiter(
        String stream,
        int partition,
        PartitionLog log,
        long from,
        int maxBytes,
        Reading<T> reading,
        CompletableFuture<T> out,
        Executor completeOn) {
      this.stream = stream;
      this.partition = partition;
      this.log = log;
      this.from = from;
      this.maxBytes = maxBytes;
      this.reading = reading;
      this.out = out;
      this.completeOn = completeOn;
    }
  }

  /** The waiting reads of one partition log, and its append listener. */
  private final class Waiting {
    final Queue<Waiter<?>> waiters = new ConcurrentLinkedQueue<>();
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
      for (Waiter<?> w : waiters) {
        if (w.from < end && take(w)) {
          read(w);
        }
      }
    }

    boolean take(Waiter<?> w) {
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
    return read(stream, partition, log, from, maxBytes, waitMs, completeOn, MESSAGES);
  }

  /** As {@link #read}, the result made by {@code reading}. */
  <T> CompletableFuture<T> read(
      String stream,
      int partition,
      PartitionLog log,
      long from,
      int maxBytes,
      long waitMs,
      Executor completeOn,
      Reading<T> reading) {
    CompletableFuture<T> out = new CompletableFuture<>();
    long start = Math.max(from, log.logStartOffset());
    Waiter<T> w = new Waiter<>(stream, partition, log, start, maxBytes, reading, out, completeOn);
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
    // A caller that stops waiting (cancels) frees its place at once.
    out.whenComplete(
        (r, e) -> {
          if (out.isCancelled()) {
            q.take(w);
          }
        });
    w.timeout =
        timers.schedule(
            () -> {
              if (q.take(w)) {
                complete(w, reading.empty(log, start), null);
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

  private <T> void read(Waiter<T> w) {
    if (w.out.isDone()) {
      return; // cancelled by its caller: nobody wants the bytes
    }
    try {
      reads.execute(
          () -> {
            try {
              complete(w, w.reading.read(w.stream, w.partition, w.log, w.from, w.maxBytes), null);
            } catch (RuntimeException e) {
              complete(w, null, e);
            }
          });
    } catch (RejectedExecutionException e) {
      complete(w, null, SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    }
  }

  /** Decoded messages, up to the readable end. */
  static final Reading<TailRead> MESSAGES =
      new Reading<>() {
        @Override
        public TailRead read(
            String stream, int partition, PartitionLog log, long from, int maxBytes) {
          List<StoredMessage> out = new ArrayList<>();
          long next = from;
          long end = log.readableEndOffset();
          for (RecordBatch b : log.read(from, maxBytes).batches()) {
            for (Record r : b.records(log.config().maxBatchBytes())) {
              if (r.offset() >= end) {
                return new TailRead(out, next);
              }
              if (r.offset() >= from) {
                out.add(StoredMessage.of(stream, partition, r));
                next = r.offset() + 1;
              }
            }
            next = Math.max(next, Math.min(end, b.nextOffset()));
          }
          return new TailRead(out, next);
        }

        @Override
        public TailRead empty(PartitionLog log, long from) {
          return new TailRead(List.of(), from);
        }
      };

  /** Whole stored batches as they are on disk, up to the readable end. */
  static final Reading<RawRead> RAW =
      new Reading<>() {
        @Override
        public RawRead read(
            String stream, int partition, PartitionLog log, long from, int maxBytes) {
          long start = log.logStartOffset();
          long end = log.readableEndOffset();
          if (from >= end) {
            return new RawRead(ByteBuffer.allocate(0), start, end);
          }
          LogReadResult r = log.read(from, maxBytes);
          ByteBuffer bytes = ByteBuffer.allocate(r.sizeInBytes());
          r.copyTo(bytes);
          bytes.flip();
          // Only whole batches below the readable end: never a record a reader may not see yet.
          int keep = 0;
          while (bytes.remaining() - keep >= RecordBatchDescriptor.HEADER_SIZE) {
            int size = RecordBatch.declaredSize(bytes, keep);
            if (size > bytes.remaining() - keep || bytes.getLong(keep) >= end) {
              break;
            }
            keep += size;
          }
          return new RawRead(bytes.limit(keep).slice(), r.logStartOffset(), end);
        }

        @Override
        public RawRead empty(PartitionLog log, long from) {
          return new RawRead(ByteBuffer.allocate(0), log.logStartOffset(), log.readableEndOffset());
        }
      };

  private static <T> void complete(Waiter<T> w, T r, Throwable e) {
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
    for (Waiter<?> w : List.copyOf(q.waiters)) {
      if (q.take(w)) {
        completeEmpty(w);
      }
    }
  }

  private static <T> void completeEmpty(Waiter<T> w) {
    complete(w, w.reading.empty(w.log, w.from), null);
  }

  @Override
  public void close() {
    for (PartitionLog log : List.copyOf(waiting.keySet())) {
      closed(log);
    }
  }
}
