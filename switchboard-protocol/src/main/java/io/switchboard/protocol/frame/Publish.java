package io.switchboard.protocol.frame;

import io.switchboard.core.Header;
import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * PUBLISH ([P-6.1]): one message to a subject, with the conditions of the broker's publish options.
 * Also the entry type of {@link PublishBatch}.
 *
 * @param requestId correlates the PUB_ACK or ERROR
 * @param noAck fire-and-forget: the server sends no PUB_ACK (it still sends an ERROR on failure)
 * @param subject where to publish
 * @param replyTo the subject a responder should answer on, or {@code null}
 * @param headers headers in order (names may repeat)
 * @param key partitioning and compaction key, or {@code null}
 * @param payload the body (may be empty)
 * @param expectedStream the stream that must capture the subject, or {@code null}
 * @param messageId id for de-duplication within the stream's window, or {@code null}
 * @param expectedLastSubjectOffset the offset the subject's last message must have ({@code -1}: it
 *     has none yet), or {@link #NO_EXPECTATION}
 * @param producer an idempotent producer's identity and sequence, or {@code null}
 * @param timestampMs the message time in ms since the epoch, or 0 for "the server stamps it"
 */
public record Publish(
    int requestId,
    boolean noAck,
    String subject,
    String replyTo,
    List<Header> headers,
    byte[] key,
    byte[] payload,
    String expectedStream,
    String messageId,
    long expectedLastSubjectOffset,
    Producer producer,
    long timestampMs)
    implements Frame {

  /** No condition on the subject's last offset (the broker's {@code NO_EXPECTATION}). */
  public static final long NO_EXPECTATION = Long.MIN_VALUE;

  /**
   * An idempotent producer's identity and the sequence of this message, as in Kafka.
   *
   * @param producerId the producer id (>= 0)
   * @param epoch its epoch (>= 0)
   * @param sequence this message's sequence (>= 0)
   */
  public record Producer(long producerId, short epoch, int sequence) {
    public Producer {
      if (producerId < 0 || epoch < 0 || sequence < 0) {
        throw new IllegalArgumentException("producer id, epoch and sequence must be >= 0");
      }
    }
  }

  public Publish {
    Checks.id("requestId", requestId);
    Checks.notNull("subject", subject);
    headers = headers == null ? List.of() : List.copyOf(headers);
    Checks.notNull("payload", payload);
    if (timestampMs < 0) {
      throw new IllegalArgumentException("timestampMs must be >= 0");
    }
  }

  /** A plain publish: no reply subject, headers, key or conditions. */
  public static Publish of(int requestId, String subject, byte[] payload) {
    return new Publish(
        requestId,
        false,
        subject,
        null,
        List.of(),
        null,
        payload,
        null,
        null,
        NO_EXPECTATION,
        null,
        0);
  }

  @Override
  public FrameType type() {
    return FrameType.PUBLISH;
  }
}
