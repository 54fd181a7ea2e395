package io.switchboard.broker.stream;

/**
 * Where a persisted publish landed. Immutable.
 *
 * @param stream the stream that captured it
 * @param partition its partition
 * @param offset its offset in the partition (for a duplicate: the original's); -1 for a delayed
 *     message, which gets its offset when it is released
 * @param durability how far it got before this acknowledgement
 * @param duplicate true when its message id was seen within the duplicate window and it was not
 *     stored again
 * @param deliverAtMs for a delayed message, when it is due; 0 otherwise
 */
public record PublishAck(
    String stream,
    int partition,
    long offset,
    Durability durability,
    boolean duplicate,
    long deliverAtMs) {

  /** The acknowledgement of a message stored in the stream now (not delayed). */
  public PublishAck(
      String stream, int partition, long offset, Durability durability, boolean duplicate) {
    this(stream, partition, offset, durability, duplicate, 0);
  }

  /** Whether the message waits in the stream's delay store. */
  public boolean delayed() {
    return deliverAtMs > 0;
  }
}
