package io.switchboard.broker.consumer;

/**
 * A consumer's definition and counters. Immutable snapshot.
 *
 * @param stream its stream
 * @param config its definition
 * @param unacknowledged messages in flight or waiting for redelivery
 * @param deadLettered messages sent to the dead-letter subject so far (since the broker started)
 * @param pending messages not yet delivered for the first time (the lag; see {@link
 *     ConsumerAgent#pending()})
 */
public record ConsumerInfo(
    String stream, ConsumerConfig config, int unacknowledged, long deadLettered, long pending) {}
