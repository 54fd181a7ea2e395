package io.switchboard.broker.consumer;

import io.switchboard.core.Message;
import java.util.concurrent.CompletableFuture;

/**
 * Takes the messages a consumer drops from the head of its stream (they expired, or more are ready
 * than its limit allows) instead of letting them go silently: how a front end dead-letters them
 * (AMQP's {@code x-dead-letter-exchange} for {@code x-max-length} and expiry). Set with {@link
 * io.switchboard.broker.Broker#dropHook}.
 *
 * <p>Delivery is at least once: a dropped message stays tracked by its consumer (never delivered
 * again) until {@link #dropped}'s future completes, and only then is it forgotten; a failure is
 * tried again a second later, and a restart in between hands it over again. Bounded: the messages
 * being handed over count against the consumer's {@code maxAckPending}. Not for keyed delivery
 * modes (key-shared, group), whose order per key a head drop would break.
 */
public interface DropHook {
  /** Why a message left the head. */
  enum Reason {
    /** Its own time to live ({@link Message#TTL_HEADER}) or the consumer's ({@link Limits}). */
    EXPIRED,
    /** More messages were ready than {@link Limits#maxReady}: the oldest go. */
    MAX_LENGTH
  }

  /**
   * @param maxReady messages ready for delivery (not in flight) kept at most; 0 or less: no limit
   * @param ttlMs a message older than this (by its timestamp) is expired at the head; -1: none (its
   *     own {@link Message#TTL_HEADER} still counts)
   */
  record Limits(long maxReady, long ttlMs) {}

  /**
   * The limits of {@code consumer} on {@code stream}, or null when its drops are not handed over
   * (the consumer drops expired messages silently, as without a hook). Called on the consumer's
   * runner, about every {@link ConsumerAgent#DROP_SWEEP_MS}: a map lookup, nothing that blocks.
   */
  Limits limits(String stream, String consumer);

  /**
   * Takes {@code message}, dropped by {@code consumer} for {@code reason}; the future completes
   * once it is safe (stored elsewhere), or fails to have it handed over again later. Called on the
   * broker's executor, not the consumer's runner, one call at a time per consumer and in the order
   * the messages left the head (a retry comes later, out of that order); must not block for long.
   */
  CompletableFuture<?> dropped(String stream, String consumer, Message message, Reason reason);
}
