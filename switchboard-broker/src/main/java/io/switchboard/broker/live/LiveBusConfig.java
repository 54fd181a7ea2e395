package io.switchboard.broker.live;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;

/**
 * Bounds of the live bus. Immutable.
 *
 * @param subjects subject and pattern limits
 * @param bufferMessages messages buffered per subscription before drops start (rounded up to a
 *     power of two)
 * @param drainBatch most messages handed to a sink in one turn on its executor, so one busy
 *     subscription cannot hold a shared executor
 * @param maxSubscriptions most live subscriptions in the bus
 * @param maxPendingRequests most requests waiting for a reply at once
 * @param queueRouting how a queue group picks a member ({@link QueueRouting})
 */
public record LiveBusConfig(
    SubjectLimits subjects,
    int bufferMessages,
    int drainBatch,
    int maxSubscriptions,
    int maxPendingRequests,
    QueueRouting queueRouting) {

  /**
   * 8,192: a client's publish batch (up to 1,024 messages) several times over, about 8 MiB per
   * subscriber at 1 KiB messages; a burst fits, a stalled reader does not.
   */
  public static final int DEFAULT_BUFFER_MESSAGES = 8192;

  /** 64: small enough to share an event loop fairly, large enough to amortize scheduling. */
  public static final int DEFAULT_DRAIN_BATCH = 64;

  /** 1M subscriptions: a bound on trie memory (roughly 200 B each). */
  public static final int DEFAULT_MAX_SUBSCRIPTIONS = 1_000_000;

  /** 100k waiting requests: each holds a future and a timer entry. */
  public static final int DEFAULT_MAX_PENDING_REQUESTS = 100_000;

  public static final LiveBusConfig DEFAULTS =
      new LiveBusConfig(
          SubjectLimits.DEFAULTS,
          DEFAULT_BUFFER_MESSAGES,
          DEFAULT_DRAIN_BATCH,
          DEFAULT_MAX_SUBSCRIPTIONS,
          DEFAULT_MAX_PENDING_REQUESTS,
          QueueRouting.ADAPTIVE);

  public LiveBusConfig {
    if (subjects == null
        || bufferMessages < 2
        || drainBatch < 1
        || maxSubscriptions < 1
        || maxPendingRequests < 1
        || queueRouting == null) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG,
          "live bus: bufferMessages >= 2, drainBatch, maxSubscriptions and maxPendingRequests >= 1,"
              + " queueRouting set"
              + " (got "
              + bufferMessages
              + ", "
              + drainBatch
              + ", "
              + maxSubscriptions
              + ", "
              + maxPendingRequests
              + ")");
    }
  }

  public LiveBusConfig withBufferMessages(int value) {
    return new LiveBusConfig(
        subjects, value, drainBatch, maxSubscriptions, maxPendingRequests, queueRouting);
  }

  public LiveBusConfig withMaxPendingRequests(int value) {
    return new LiveBusConfig(
        subjects, bufferMessages, drainBatch, maxSubscriptions, value, queueRouting);
  }

  public LiveBusConfig withMaxSubscriptions(int value) {
    return new LiveBusConfig(
        subjects, bufferMessages, drainBatch, value, maxPendingRequests, queueRouting);
  }

  public LiveBusConfig withQueueRouting(QueueRouting value) {
    return new LiveBusConfig(
        subjects, bufferMessages, drainBatch, maxSubscriptions, maxPendingRequests, value);
  }
}
