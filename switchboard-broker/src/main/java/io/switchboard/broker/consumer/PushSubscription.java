package io.switchboard.broker.consumer;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Push delivery for one member of a durable consumer: a virtual thread long-polls the consumer for
 * as many messages as the member has credits (its capacity: how many it may hold unacknowledged)
 * and hands each to the handler. A credit returns when the member acknowledges or gives a message
 * back through this subscription, so delivery follows each member's pace and a slow member never
 * piles up more than its credits.
 *
 * <p>Thread safety: thread-safe. The handler runs on the subscription's virtual thread, one message
 * at a time; it may call {@link #ack} and {@link #nack} from any thread.
 */
public final class PushSubscription implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PushSubscription.class);

  /** Failures that end the subscription: its consumer is gone for good. */
  private static final Set<ErrorCode> ENDS_PUSH =
      EnumSet.of(ErrorCode.CONSUMER_CLOSED, ErrorCode.CONSUMER_NOT_FOUND, ErrorCode.BROKER_CLOSED);

  /** How long one poll waits for messages before looking at the credits again. */
  static final long POLL_WAIT_MS = 500;

  private final ConsumerAgent consumer;
  private final String member;

  /** The window: messages the member may hold unacknowledged. Grows with {@link #grant}. */
  private final AtomicInteger credits;

  /** Messages handed to the member and not given back yet. */
  private final AtomicInteger held = new AtomicInteger();

  private final Consumer<Delivery> handler;
  private final Thread thread;
  private volatile boolean closed;

  /** Starts pushing. {@code credits} must be at least 1. */
  public PushSubscription(
      ConsumerAgent consumer, String member, int credits, Consumer<Delivery> handler) {
    if (credits < 1) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "credits must be >= 1");
    }
    if (member == null || member.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "a push subscription must name its member");
    }
    this.consumer = consumer;
    this.member = member;
    this.credits = new AtomicInteger(credits);
    this.handler = handler;
    this.thread =
        Thread.ofVirtual().name("sb-push-" + consumer.name() + "-" + member).start(this::run);
  }

  private void run() {
    while (!closed) {
      int wanted = credits.get() - held.get();
      if (wanted <= 0) {
        // The member holds all it may: wait for an ack or nack to wake us.
        LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(POLL_WAIT_MS));
        continue;
      }
      List<Delivery> got;
      try {
        got = consumer.fetch(member, wanted, POLL_WAIT_MS).join();
      } catch (RuntimeException e) {
        if (closed) {
          break;
        }
        Throwable cause =
            e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof SwitchboardException se && ENDS_PUSH.contains(se.code())) {
          // The consumer was deleted or the broker is stopping: an ordinary end, no trace.
          LOG.info(
              "SB-BRK-2015 push to {} of {} ends: {}", member, consumer.name(), se.getMessage());
          break;
        }
        if (cause instanceof SwitchboardException se) {
          LOG.warn(
              "SB-BRK-2015 push to {} of {}: fetch failed: {}",
              member,
              consumer.name(),
              se.getMessage());
        } else {
          LOG.warn("SB-BRK-2015 push to {} of {}: fetch failed", member, consumer.name(), cause);
        }
        LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(POLL_WAIT_MS));
        continue;
      }
      if (closed) {
        // A fetch that completed as the subscription closed: give its messages back at once
        // rather than let them wait for the ack timeout.
        for (Delivery d : got) {
          consumer.nack(d.partition(), d.offset(), d.deliveryCount(), 0, "subscription closed");
        }
        break;
      }
      held.addAndGet(got.size());
      for (Delivery d : got) {
        try {
          handler.accept(d);
        } catch (RuntimeException e) {
          // The handler's failure is the message's: give it back for redelivery.
          LOG.warn(
              "SB-BRK-2016 push handler of {} failed on {}:{}",
              member,
              d.partition(),
              d.offset(),
              e);
          nack(d, -1, String.valueOf(e.getMessage()));
        }
      }
    }
  }

  /** Acknowledges a pushed message and returns its credit. */
  public CompletableFuture<Boolean> ack(Delivery d) {
    release();
    return consumer.ack(d.partition(), d.offset());
  }

  /** Gives a pushed message back (see {@link ConsumerAgent#nack}) and returns its credit. */
  public CompletableFuture<Boolean> nack(Delivery d, long delayMs, String error) {
    release();
    return consumer.nack(d.partition(), d.offset(), d.deliveryCount(), delayMs, error);
  }

  /**
   * Widens the window by {@code n} messages: for a member whose deliveries are never acknowledged
   * (ack policy none) or that wants more in flight. {@code n} must be at least 1.
   */
  public void grant(int n) {
    if (n < 1) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "credits must be >= 1");
    }
    credits.addAndGet(n);
    LockSupport.unpark(thread);
  }

  /**
   * Returns a credit for a pushed message that was acknowledged or given back some other way (a
   * front end's ack frame naming the consumer rather than this subscription).
   */
  public void returnCredit() {
    release();
  }

  private void release() {
    held.updateAndGet(h -> Math.max(0, h - 1));
    LockSupport.unpark(thread);
  }

  /** Credits free now: how many more messages the member may be sent. */
  public int availableCredits() {
    return credits.get() - held.get();
  }

  /** Stops pushing; messages the member still holds time out and are redelivered. */
  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
