package io.switchboard.broker.live;

/**
 * A live (at-most-once, in-memory) subscription. Thread-safe. Closing it stops delivery; messages
 * still buffered are discarded.
 */
public interface LiveSubscription extends AutoCloseable {
  String pattern();

  /** The queue group, or {@code null}. */
  String queueGroup();

  /** Messages dropped because the buffer was full. */
  long dropped();

  /** Messages handed to the sink. */
  long delivered();

  /** Messages waiting in the buffer now. */
  int buffered();

  @Override
  void close();
}
