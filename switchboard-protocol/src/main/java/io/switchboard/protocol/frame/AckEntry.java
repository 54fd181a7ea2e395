package io.switchboard.protocol.frame;

/**
 * One acknowledgement in an ACKS frame ([P-8.6]). Immutable.
 *
 * @param kind what to do with the delivery
 * @param partition the delivery's partition
 * @param offset the delivery's offset
 * @param deliveryCount the delivery's count, so a stale answer to an earlier delivery is ignored
 * @param delayMs for {@link Kind#NACK}: redeliver after this, or -1 for the consumer's back-off; 0
 *     for other kinds
 * @param error for {@link Kind#NACK}: why it failed, or {@code null}; {@code null} for other kinds
 */
public record AckEntry(
    Kind kind, int partition, long offset, int deliveryCount, long delayMs, String error) {

  /** What an entry does; wire values are {@link #code()}. */
  public enum Kind {
    /** Done: never deliver it again. */
    ACK(1),
    /** Failed: redeliver it (after a delay). */
    NACK(2),
    /** Still working on it: restart its ack deadline. */
    IN_PROGRESS(3);

    private final int code;

    Kind(int code) {
      this.code = code;
    }

    /** The wire value. */
    public int code() {
      return code;
    }

    /** The kind with wire value {@code code}, or {@code null}. */
    public static Kind byCode(int code) {
      return switch (code) {
        case 1 -> ACK;
        case 2 -> NACK;
        case 3 -> IN_PROGRESS;
        default -> null;
      };
    }
  }

  public AckEntry {
    Checks.notNull("kind", kind);
    Checks.positive("deliveryCount", deliveryCount);
    if (kind != Kind.NACK && (delayMs != 0 || error != null)) {
      throw new IllegalArgumentException("only a NACK carries a delay and an error");
    }
    if (delayMs < -1) {
      throw new IllegalArgumentException("delayMs must be >= -1");
    }
  }

  /** Acknowledges a delivery. */
  public static AckEntry ack(int partition, long offset, int deliveryCount) {
    return new AckEntry(Kind.ACK, partition, offset, deliveryCount, 0, null);
  }

  /** Gives a delivery back for redelivery after {@code delayMs} (-1: the back-off). */
  public static AckEntry nack(
      int partition, long offset, int deliveryCount, long delayMs, String error) {
    return new AckEntry(Kind.NACK, partition, offset, deliveryCount, delayMs, error);
  }

  /** Restarts a delivery's ack deadline. */
  public static AckEntry inProgress(int partition, long offset, int deliveryCount) {
    return new AckEntry(Kind.IN_PROGRESS, partition, offset, deliveryCount, 0, null);
  }
}
