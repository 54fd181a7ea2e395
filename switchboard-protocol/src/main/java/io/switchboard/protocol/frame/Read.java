package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * READ ([P-10.1]): reads one partition of a stream from an offset; answered with MESSAGES.
 *
 * @param requestId correlates the MESSAGES or ERROR
 * @param partition the partition
 * @param fromOffset the first offset wanted
 * @param maxBytes most bytes of stored data to read (>= 1)
 * @param maxMessages most messages to return (>= 1)
 * @param stream the stream
 */
public record Read(
    int requestId, int partition, long fromOffset, int maxBytes, int maxMessages, String stream)
    implements Frame {
  public Read {
    Checks.id("requestId", requestId);
    Checks.positive("maxBytes", maxBytes);
    Checks.positive("maxMessages", maxMessages);
    Checks.notNull("stream", stream);
  }

  @Override
  public FrameType type() {
    return FrameType.READ;
  }
}
