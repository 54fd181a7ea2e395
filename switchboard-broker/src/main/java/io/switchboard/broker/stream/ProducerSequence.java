package io.switchboard.broker.stream;

/**
 * An idempotent producer's identity and the sequence number of one publish, as in Kafka: the
 * sequence starts at 0 for each producer id and epoch and grows by one per message per partition.
 * Immutable.
 *
 * @param producerId the producer's id (>= 0)
 * @param epoch its epoch; a higher epoch fences every lower one
 * @param sequence this message's sequence number
 */
public record ProducerSequence(long producerId, short epoch, int sequence) {
  public ProducerSequence {
    if (producerId < 0 || epoch < 0 || sequence < 0) {
      throw new IllegalArgumentException(
          "producer id, epoch and sequence must be >= 0: "
              + producerId
              + "/"
              + epoch
              + "/"
              + sequence);
    }
  }
}
