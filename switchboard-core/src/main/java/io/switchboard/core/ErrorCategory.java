package io.switchboard.core;

/** How a caller should react to an {@link ErrorCode}. Immutable, thread-safe. */
public enum ErrorCategory {
  /** Transient; the same request may succeed when retried later. */
  RETRIABLE,
  /** The request itself is wrong; retrying it unchanged fails the same way. */
  CLIENT,
  /** The server failed to carry out a valid request. */
  SERVER,
  /** The component is unusable until an operator intervenes (for example a failed fsync). */
  FATAL
}
