package io.switchboard.broker;

import io.switchboard.broker.stream.ProducerSequence;

/**
 * Conditions on a publish. Immutable.
 *
 * @param expectedStream the stream that must capture the subject, or {@code null}
 * @param messageId id for de-duplication within the stream's window, or {@code null}
 * @param expectedLastSubjectOffset the offset the subject's last message must have for the publish
 *     to be stored (optimistic concurrency for event sourcing): {@link #NO_OFFSET} for "no message
 *     on this subject yet", {@link #NO_EXPECTATION} to check nothing
 * @param producer an idempotent producer's id, epoch and sequence for this message, or {@code null}
 */
public record PublishOptions(
    String expectedStream,
    String messageId,
    long expectedLastSubjectOffset,
    ProducerSequence producer) {
  /** An expected-last-offset that checks nothing. */
  public static final long NO_EXPECTATION = Long.MIN_VALUE;

  /** The last offset of a subject that has no message yet: expect it to say "new subject". */
  public static final long NO_OFFSET = -1;

  public static final PublishOptions NONE = new PublishOptions(null, null);

  public PublishOptions(String expectedStream, String messageId) {
    this(expectedStream, messageId, NO_EXPECTATION, null);
  }

  public static PublishOptions messageId(String id) {
    return new PublishOptions(null, id);
  }

  /** Store only if the subject's last message is at {@code offset} (-1: it has none yet). */
  public static PublishOptions expectLastOffset(long offset) {
    return new PublishOptions(null, null, offset, null);
  }

  /** An idempotent publish: producer id, epoch, and this message's sequence. */
  public static PublishOptions idempotent(long producerId, short epoch, int sequence) {
    return new PublishOptions(
        null, null, NO_EXPECTATION, new ProducerSequence(producerId, epoch, sequence));
  }
}
