package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * CONSUME ([P-8.3]): push delivery from a durable consumer to subscription {@code sid}, at most
 * {@code credits} deliveries outstanding; answered with OK or ERROR, then DELIVERY frames.
 *
 * @param requestId correlates the OK or ERROR
 * @param sid the client-chosen subscription id the DELIVERY frames carry
 * @param credits the initial window of deliveries (>= 1)
 * @param stream the stream
 * @param consumer the consumer
 * @param member the member name, or {@code null} for one derived from the connection
 */
public record Consume(
    int requestId, int sid, int credits, String stream, String consumer, String member)
    implements Frame {
  public Consume {
    Checks.id("requestId", requestId);
    Checks.id("sid", sid);
    Checks.positive("credits", credits);
    Checks.notNull("stream", stream);
    Checks.notNull("consumer", consumer);
  }

  @Override
  public FrameType type() {
    return FrameType.CONSUME;
  }
}
