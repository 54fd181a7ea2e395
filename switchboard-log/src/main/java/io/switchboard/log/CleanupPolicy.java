package io.switchboard.log;

/** What retention does with old data. */
public enum CleanupPolicy {
  /** Remove whole segments by age, total size and log-start offset. */
  DELETE,
  /** Keep the latest record per key (per subject when there is no key); delete rules also apply. */
  COMPACT
}
