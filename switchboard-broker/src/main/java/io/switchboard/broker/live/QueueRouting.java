package io.switchboard.broker.live;

/** How a queue group picks the member a message goes to. Immutable. */
public enum QueueRouting {
  /**
   * Requests (messages with a reply subject) go to the less loaded of two members picked at random
   * (power of two choices), load being the requests in flight at the member (delivered, not yet
   * answered) plus the new one, each weighted by the member's recent time to reply: the expected
   * wait there. Other messages round-robin. A stalled member piles up requests in flight, a slow
   * one weighs more per request; both are offered less.
   */
  ADAPTIVE,
  /**
   * Power of two choices on the count of requests in flight alone (ties to the member that lately
   * answered sooner): the textbook policy; a slow member that is idle still wins against a busy
   * fast one.
   */
  LEAST_IN_FLIGHT,
  /** Every message to the next member in turn (with room). */
  ROUND_ROBIN
}
