package io.switchboard.broker.consumer;

/** How a consumer's deliveries are acknowledged. */
public enum AckPolicy {
  /** Delivered counts as done: at-most-once. */
  NONE,
  /** Each delivery is acknowledged on its own: at-least-once. */
  EACH,
  /** Acknowledging an offset acknowledges every earlier delivery of that partition. */
  CUMULATIVE
}
