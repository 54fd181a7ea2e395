package io.switchboard.broker.stream;

/** What a stream keeps. */
public enum Retention {
  /** Everything, until an age, size or count limit removes the oldest. */
  LIMITS,
  /** A message is removed once every consumer has acknowledged it (a queue). */
  WORK_QUEUE,
  /** The latest message per key (per subject without a key): key/value and current state. */
  COMPACTED
}
