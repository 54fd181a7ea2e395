package io.switchboard.client;

import io.switchboard.protocol.frame.LiveMessage;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A live subscription read by iteration ({@link SwitchboardClient#subscribe(String, String, int)}).
 * Messages wait in a bounded buffer; {@link #next(Duration)} takes one with a timeout, and the
 * {@link Iterator} view blocks until a message arrives or the subscription is closed. Thread-safe;
 * meant for one reading thread.
 */
public final class LiveMessages implements Iterator<LiveMessage>, AutoCloseable {
  private static final LiveMessage CLOSED =
      new LiveMessage(1, 0, "", null, java.util.List.of(), null, new byte[0]);

  private final BlockingQueue<LiveMessage> buffer;
  private final AtomicLong droppedHere = new AtomicLong();
  final AtomicLong serverDropped = new AtomicLong();
  private volatile SwitchboardClient.Subscription subscription;
  private volatile boolean closed;
  private LiveMessage peeked;

  LiveMessages(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1");
    }
    this.buffer = new ArrayBlockingQueue<>(capacity + 1); // room for the close marker
  }

  void attach(SwitchboardClient.Subscription s) {
    this.subscription = s;
  }

  /** Called on the client's callback thread. */
  void offer(LiveMessage m) {
    if (closed || buffer.remainingCapacity() <= 1 || !buffer.offer(m)) {
      droppedHere.incrementAndGet();
    }
  }

  /**
   * The next message, waiting up to {@code timeout}; {@code null} when none came in time or the
   * subscription is closed.
   */
  public LiveMessage next(Duration timeout) throws InterruptedException {
    if (peeked != null) {
      LiveMessage m = peeked;
      peeked = null;
      return m == CLOSED ? null : m;
    }
    LiveMessage m = buffer.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    if (m == CLOSED) {
      buffer.offer(CLOSED); // stays closed for later calls
      return null;
    }
    return m;
  }

  /** Blocks until a message arrives (true) or the subscription is closed (false). */
  @Override
  public boolean hasNext() {
    if (peeked != null) {
      return peeked != CLOSED;
    }
    try {
      peeked = buffer.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    if (peeked == CLOSED) {
      buffer.offer(CLOSED);
      return false;
    }
    return true;
  }

  @Override
  public LiveMessage next() {
    if (!hasNext()) {
      throw new NoSuchElementException("subscription closed");
    }
    LiveMessage m = peeked;
    peeked = null;
    return m;
  }

  /** Messages dropped because this reader fell behind: here, and by the server. */
  public long dropped() {
    return droppedHere.get() + serverDropped.get();
  }

  /** Unsubscribes; a blocked reader wakes up and sees the end. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    SwitchboardClient.Subscription s = subscription;
    if (s != null) {
      s.close();
    }
    buffer.clear();
    buffer.offer(CLOSED);
  }
}
