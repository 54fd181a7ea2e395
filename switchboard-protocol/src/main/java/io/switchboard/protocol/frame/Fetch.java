package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * FETCH ([P-8.1]): pull up to {@code maxMessages} from a durable consumer, waiting up to {@code
 * maxWaitMs} for the first; answered with DELIVERIES (possibly empty) or ERROR.
 *
 * @param requestId correlates the DELIVERIES or ERROR
 * @param maxMessages most deliveries wanted (>= 1)
 * @param maxWaitMs longest wait for the first message (0: answer at once)
 * @param stream the stream
 * @param consumer the consumer
 * @param member the member name (stable across reconnects for exclusive, failover and key-shared
 *     consumers), or {@code null} for one the server derives from the connection
 */
public record Fetch(
    int requestId, int maxMessages, int maxWaitMs, String stream, String consumer, String member)
    implements Frame {
  public Fetch {
    Checks.id("requestId", requestId);
    Checks.positive("maxMessages", maxMessages);
    if (maxWaitMs < 0) {
      throw new IllegalArgumentException("maxWaitMs must be >= 0");
    }
    Checks.notNull("stream", stream);
    Checks.notNull("consumer", consumer);
  }

  @Override
  public FrameType type() {
    return FrameType.FETCH;
  }
}
