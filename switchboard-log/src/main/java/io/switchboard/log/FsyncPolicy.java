package io.switchboard.log;

/** When appended bytes are forced to stable storage before an append is acknowledged. */
public enum FsyncPolicy {
  /**
   * Every append completes only after an fsync that covers it. Concurrent appends share one fsync
   * (group commit).
   */
  ALWAYS,
  /** Appends complete once written; a flusher forces the log every configured interval. */
  INTERVAL,
  /** Appends complete once written; the OS writes back. Only segment rolls force. */
  NEVER
}
