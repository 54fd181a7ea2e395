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
 */
public record Delivery(
    String stream,
    String consumer,
    int partition,
    long offset,
    int deliveryCount,
    Message message) {}
