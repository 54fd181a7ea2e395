package io.switchboard.broker.live;

import io.switchboard.core.Message;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.MpscArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live subscription's bounded buffer and its drain. Publishers on any thread offer; a full
 * buffer drops the message and counts it, so a slow reader costs only its own messages, never
 * memory or other readers' speed. Draining runs on the subscription's executor, one turn at a time
 * (a scheduled flag makes it an actor), at most a batch per turn.
 *
 * <p>Thread safety: {@link #offer} from any thread; the sink is called from one turn at a time.
 */
final class Mailbox implements LiveSubscription {
  private static final Logger LOG = LoggerFactory.getLogger(Mailbox.class);

  final long id;
  final String pattern;
  final String group;
  private final MpscArrayQueue<Message> queue;
  private final LiveSink sink;
  private final Executor executor;
  private final int drainBatch;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final Runnable onClose;
  private final java.util.function.Predicate<Message> expired;

  /** Requests delivered through a queue group and not answered yet (adaptive routing). */
  final java.util.concurrent.atomic.AtomicInteger inFlight =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * Recent time from a request's delivery here to its reply, in nanoseconds (an exponentially
   * weighted mean, weight 1/8); 0 until the first reply. Adaptive routing breaks ties with it.
   */
  volatile long latencyEwmaNanos;

  /** When {@link #latencyEwmaNanos} last changed (the bus clock's nanoseconds). */
  volatile long latencyAtNanos;

  private long droppedReported;
  private volatile boolean closed;

  Mailbox(
      long id,
      String pattern,
      String group,
      int capacity,
      int drainBatch,
      LiveSink sink,
      Executor executor,
      Runnable onClose,
      java.util.function.Predicate<Message> expired) {
    this.id = id;
    this.pattern = pattern;
    this.group = group;
    this.queue = new MpscArrayQueue<>(capacity);
    this.drainBatch = drainBatch;
    this.sink = sink;
    this.executor = executor;
    this.onClose = onClose;
    this.expired = expired;
  }

  /** Buffers {@code m}; returns false (and counts a drop) when the buffer is full or closed. */
  boolean offer(Message m) {
    if (closed) {
      return false;
    }
    boolean accepted = queue.offer(m);
    if (!accepted) {
      dropped.incrementAndGet();
    }
    schedule();
    return accepted;
  }

  /**
   * Folds one request's time to reply into {@link #latencyEwmaNanos}, after fading the old value by
   * the time since it was set ({@code fadeNanos} time constant). Racy by design: a hint.
   */
  void observeLatency(long nanos, long nowNanos, double fadeNanos) {
    long old = latencyEwmaNanos;
    if (old != 0) {
      // What had faded while the member was quiet is gone: start from the faded value.
      old = (long) (old * Math.exp(-Math.max(0, nowNanos - latencyAtNanos) / fadeNanos));
    }
    latencyEwmaNanos = old == 0 ? Math.max(1, nanos) : Math.max(1, old + (nanos - old) / 8);
    latencyAtNanos = nowNanos;
  }

  /** Whether the buffer has room right now (queue groups prefer members that do). */
  boolean hasRoom() {
    return !closed && queue.size() < queue.capacity();
  }

  private void schedule() {
    if (scheduled.compareAndSet(false, true)) {
      try {
        executor.execute(this::drain);
      } catch (RuntimeException e) {
        scheduled.set(false);
        LOG.warn("SB-BRK-2001 subscription {} ({}): executor refused a drain", id, pattern, e);
      }
    }
  }

  private void drain() {
    int handed = 0;
    try {
      for (int i = 0; i < drainBatch && !closed; i++) {
        Message m = queue.relaxedPoll();
        if (m == null) {
          break;
        }
        if (expired.test(m)) {
          continue; // a request whose deadline passed while it waited here: answered by the bus
        }
        handed++;
        delivered.incrementAndGet();
        try {
          sink.onMessage(m);
        } catch (RuntimeException e) {
          // A failing sink loses this message (at-most-once) but keeps its subscription.
          LOG.warn("SB-BRK-2002 subscription {} ({}): sink failed", id, pattern, e);
        }
      }
      long d = dropped.get();
      if (d != droppedReported && !closed) {
        droppedReported = d;
        sink.onDropped(d);
      }
    } finally {
      if (handed > 0) {
        try {
          sink.onBatchEnd();
        } catch (RuntimeException e) {
          LOG.warn("SB-BRK-2002 subscription {} ({}): sink failed", id, pattern, e);
        }
      }
      scheduled.set(false);
      if (!closed && (!queue.isEmpty() || dropped.get() != droppedReported)) {
        schedule();
      }
    }
  }

  @Override
  public String pattern() {
    return pattern;
  }

  @Override
  public String queueGroup() {
    return group;
  }

  @Override
  public long dropped() {
    return dropped.get();
  }

  @Override
  public long delivered() {
    return delivered.get();
  }

  @Override
  public int buffered() {
    return queue.size();
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      onClose.run();
      queue.clear();
    }
  }
}
