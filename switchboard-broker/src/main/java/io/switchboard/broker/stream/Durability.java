package io.switchboard.broker.stream;

/** How far a publish got before it was acknowledged. */
public enum Durability {
  /** Not persisted: no stream captures the subject; only live subscribers received it. */
  MEMORY,
  /** Written to the partition log, in the OS page cache: survives a process crash. */
  WRITTEN,
  /** Forced to stable storage: survives a machine crash. */
  FSYNCED
}
