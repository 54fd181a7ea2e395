package io.switchboard.broker.consumer;

import io.switchboard.core.Message;

/**
 * One message handed to a consumer member. Immutable.
 *
 * @param stream the stream
 * @param consumer the consumer it was delivered through
 * @param partition where it is stored
 * @param offset its offset there (what to acknowledge)
 * @param deliveryCount 1 on first delivery, more on redeliveries
 * @param message the message
 * @param sequence this delivery's number: unique within the consumer while the broker runs, and
 *     larger for every later delivery (a redelivery gets a new one), so "every delivery up to this
 *     one" is well defined ({@link ConsumerAgent#ackUpTo}); 0 for a delivery not made by a consumer
 */
public record Delivery(
    String stream,
    String consumer,
    int partition,
    long offset,
    int deliveryCount,
    Message message,
    long sequence) {

  /** A delivery without a sequence number (not made by a consumer: a replay, a test). */
  public Delivery(
      String stream,
      String consumer,
      int partition,
      long offset,
      int deliveryCount,
      Message message) {
    this(stream, consumer, partition, offset, deliveryCount, message, 0);
  }
}
