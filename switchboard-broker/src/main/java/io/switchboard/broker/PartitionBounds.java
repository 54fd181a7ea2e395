package io.switchboard.broker;

/**
 * A partition's bounds at one moment ({@link Broker#partitionBounds}).
 *
 * @param logStartOffset the first readable offset
 * @param highWatermark the end of what readers may see: the offset the next readable message gets
 */
public record PartitionBounds(long logStartOffset, long highWatermark) {}
