package io.switchboard.broker.stream;

/**
 * What a partition's producer state holds for one idempotent producer (Kafka's DescribeProducers).
 *
 * @param producerId the producer's id
 * @param epoch its epoch
 * @param lastSequence the sequence of the last message it stored
 * @param lastTimestampMs the largest timestamp of its last stored batch
 */
public record ProducerInfo(long producerId, short epoch, int lastSequence, long lastTimestampMs) {}
