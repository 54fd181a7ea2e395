package io.switchboard.broker;

/** A durable binding made by {@link Broker#bind}. */
public interface Binding extends AutoCloseable {
  /** Removes the binding; messages published afterwards are not copied by it. Idempotent. */
  @Override
  void close();
}
