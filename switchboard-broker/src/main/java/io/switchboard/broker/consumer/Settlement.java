package io.switchboard.broker.consumer;

/**
 * What a member says about one delivery, for {@link ConsumerAgent#settle}: done ({@link Kind#ACK}),
 * give it back ({@link Kind#NACK}, redelivered after {@code delayMs}, negative: the back-off), or
 * still working on it ({@link Kind#IN_PROGRESS}). Immutable.
 *
 * @param deliveryCount which delivery a nack or in-progress names (a stale one changes nothing)
 * @param error noted for the dead-letter headers (nack only; may be null)
 */
public record Settlement(
    Kind kind, int partition, long offset, int deliveryCount, long delayMs, String error) {

  /** The three things a member can say about a delivery. */
  public enum Kind {
    ACK,
    NACK,
    IN_PROGRESS
  }

  public static Settlement ack(int partition, long offset) {
    return new Settlement(Kind.ACK, partition, offset, 0, 0, null);
  }

  public static Settlement nack(
      int partition, long offset, int deliveryCount, long delayMs, String error) {
    return new Settlement(Kind.NACK, partition, offset, deliveryCount, delayMs, error);
  }

  public static Settlement inProgress(int partition, long offset, int deliveryCount) {
    return new Settlement(Kind.IN_PROGRESS, partition, offset, deliveryCount, 0, null);
  }
}
