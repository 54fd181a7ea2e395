package io.switchboard.services;

/** A served service or an event listener; {@link #close()} unsubscribes it. Thread-safe. */
public interface Registration extends AutoCloseable {
  @Override
  void close();
}
