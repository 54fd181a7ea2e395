package io.switchboard.broker.live;

/** How a queue group picks the member a message goes to. Immutable. */
public enum QueueRouting {
  /**
   * Requests (messages with a reply subject) go to the less loaded of two members picked at random
   * (power of two choices), loaded meaning requests delivered and not yet answered; other messages
   * round-robin. A slow or stalled member answers less, so it is offered less.
   */
  ADAPTIVE,
  /** Every message to the next member in turn (with room). */
  ROUND_ROBIN
}
