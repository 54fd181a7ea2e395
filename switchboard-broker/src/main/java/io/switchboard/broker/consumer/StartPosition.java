package io.switchboard.broker.consumer;

/** Where a new consumer starts reading. */
public enum StartPosition {
  /** The first message still in the stream. */
  EARLIEST,
  /** Only messages published after the consumer was created. */
  LATEST,
  /** A given offset in every partition. */
  OFFSET,
  /** The first message at or after a given time. */
  TIME,
  /**
   * The newest message of every subject (matching the filter), then everything published after: the
   * current state first, then its changes.
   */
  LAST_PER_SUBJECT
}
