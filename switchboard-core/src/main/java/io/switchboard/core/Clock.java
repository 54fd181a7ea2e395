package io.switchboard.core;

/**
 * Time as Switchboard code reads it: never from {@code System} directly, so tests can advance a
 * manual clock. Implementations are thread-safe.
 */
public interface Clock {
  /** Wall-clock milliseconds since the epoch (timestamps, retention by age). */
  long nowMs();

  /** Monotonic nanoseconds for measuring intervals (fsync interval, timeouts). */
  long nanoTime();

  /** The system clock. */
  Clock SYSTEM =
      new Clock() {
        @Override
        public long nowMs() {
          return System.currentTimeMillis();
        }

        @Override
        public long nanoTime() {
          return System.nanoTime();
        }
      };
}
