package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * PUB_ACK ([P-6.3]): where a publish was stored and how durably. Also the entry type of {@link
 * PubAckBatch}.
 *
 * @param requestId the publish's id
 * @param stream the stream that captured it, or {@code null} when none did ({@link
 *     Durability#MEMORY}: only live subscribers got it)
 * @param partition its partition (-1 without a stream)
 * @param offset its offset (-1 without a stream; for a duplicate: the original's)
 * @param durability how far it got before this acknowledgement
 * @param duplicate its message id was seen within the duplicate window; it was not stored again
 * @param deliverAtMs for a delayed message (kept by the stream until then, offset -1): when it is
 *     due, in ms since the epoch; 0 otherwise
 */
public record PubAck(
    int requestId,
    String stream,
    int partition,
    long offset,
    Durability durability,
    boolean duplicate,
    long deliverAtMs)
    implements Frame {

  /** How far a publish got before it was acknowledged; wire values are the ordinals. */
  public enum Durability {
    /** Not persisted: no stream captures the subject. */
    MEMORY,
    /** Written to the partition log (page cache): survives a process crash. */
    WRITTEN,
    /** Forced to stable storage: survives a machine crash. */
    FSYNCED
  }

  public PubAck {
    Checks.id("requestId", requestId);
    Checks.notNull("durability", durability);
    if (deliverAtMs < 0) {
      throw new IllegalArgumentException("deliverAtMs must be >= 0");
    }
  }

  /** The acknowledgement of a message stored now (not delayed). */
  public PubAck(
      int requestId,
      String stream,
      int partition,
      long offset,
      Durability durability,
      boolean duplicate) {
    this(requestId, stream, partition, offset, durability, duplicate, 0);
  }

  /** Whether the message waits in its stream's delay store until {@link #deliverAtMs()}. */
  public boolean delayed() {
    return deliverAtMs > 0;
  }

  @Override
  public FrameType type() {
    return FrameType.PUB_ACK;
  }
}
