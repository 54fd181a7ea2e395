package io.switchboard.broker.consumer;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Push delivery for one member of a durable consumer: the consumer's agent hands the member as many
 * messages as it has credits (its capacity: how many it may hold unacknowledged), as soon as they
 * are appended — no thread per member, no polling. A credit returns when the member acknowledges or
 * gives a message back through this subscription, so delivery follows each member's pace and a slow
 * member never piles up more than its credits.
 *
 * <p>Thread safety: thread-safe. The handler runs on the consumer agent's runner thread, one
 * message at a time, so it must not block: hand the delivery to your own thread (an event loop) and
 * return. {@link #ack}, {@link #nack}, {@link #grant} and {@link #close} may be called from any
 * thread and never block.
 */
public final class PushSubscription implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PushSubscription.class);

  private final ConsumerAgent consumer;
  private final String member;

  /** The window: messages the member may hold unacknowledged. Grows with {@link #grant}. */
  private final AtomicInteger credits;

  /** Messages handed to the member and not given back yet. */
  private final AtomicInteger held = new AtomicInteger();

  /** Takes each cycle's deliveries for this member at once. */
  private final Consumer<List<Delivery>> handler;

  private volatile boolean closed;

  /** Made by {@link ConsumerAgent#push}. */
  PushSubscription(
      ConsumerAgent consumer, String member, int credits, Consumer<List<Delivery>> handler) {
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
  }

  String member() {
    return member;
  }

  boolean isClosed() {
    return closed;
  }

  /** Agent thread: how many messages may be pushed now. */
  int wanted() {
    return closed ? 0 : credits.get() - held.get();
  }

  /** Agent thread: hands deliveries to the handler; a handler's failure gives them back. */
  void deliver(List<Delivery> deliveries) {
    held.addAndGet(deliveries.size());
    try {
      handler.accept(deliveries);
    } catch (RuntimeException e) {
      LOG.warn(
          "SB-BRK-2016 push handler of {} failed on {} messages", member, deliveries.size(), e);
      for (Delivery d : deliveries) {
        nack(d, -1, String.valueOf(e.getMessage()));
      }
    }
  }

  /** A handler of single deliveries as a handler of a cycle's batch. */
  static Consumer<List<Delivery>> each(Consumer<Delivery> handler) {
    return batch -> {
      for (Delivery d : batch) {
        handler.accept(d);
      }
    };
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
   * Acknowledges every message pushed to this member up to and including {@code d}, in delivery
   * order (see {@link ConsumerAgent#ackUpTo}), and returns their credits once the consumer has
   * counted them. Completes with how many were acknowledged.
   */
  public CompletableFuture<Integer> ackUpTo(Delivery d) {
    return consumer
        .ackUpTo(member, d.sequence())
        .thenApply(
            n -> {
              returnCredits(n);
              return n;
            });
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
    consumer.wake();
  }

  /**
   * Returns a credit for a pushed message that was acknowledged or given back some other way (a
   * front end's ack frame naming the consumer rather than this subscription).
   */
  public void returnCredit() {
    release();
  }

  /** {@link #returnCredit()} for {@code n} messages at once (one wake-up of the agent at most). */
  public void returnCredits(int n) {
    if (n > 0) {
      release(n);
    }
  }

  private void release() {
    release(1);
  }

  /**
   * Returns {@code n} credits, waking the agent only when the member had none left. Otherwise the
   * credits change nothing the agent must act on now: it pushed all it could within them, and its
   * next cycle (an append wakes it, and so does the ack's own command) sees them. So an ack costs
   * the runner one wake-up, not two.
   */
  private void release(int n) {
    int before = held.getAndUpdate(h -> Math.max(0, h - n));
    if (before >= credits.get()) {
      consumer.wake();
    }
  }

  /** Credits free now: how many more messages the member may be sent. */
  public int availableCredits() {
    return credits.get() - held.get();
  }

  /**
   * Stops pushing, at once and without blocking; messages the member still holds time out and are
   * redelivered (or are given back at once when the member {@link ConsumerAgent#leave leaves}).
   */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      consumer.unregister(this);
    }
  }
}
