package io.switchboard.broker.stream;

/**
 * Where a persisted publish landed. Immutable.
 *
 * @param stream the stream that captured it
 * @param partition its partition
 * @param offset its offset in the partition (for a duplicate: the original's)
 * @param durability how far it got before this acknowledgement
 * @param duplicate true when its message id was seen within the duplicate window and it was not
 *     stored again
 */
public record PublishAck(
    String stream, int partition, long offset, Durability durability, boolean duplicate) {}
