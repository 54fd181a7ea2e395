package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * LAST ([P-10.3]): the last message published on a subject in a stream (the key/value "get");
 * answered with MESSAGES holding zero or one entry.
 *
 * @param requestId correlates the MESSAGES or ERROR
 * @param stream the stream
 * @param subject the subject
 */
public record Last(int requestId, String stream, String subject) implements Frame {
  public Last {
    Checks.id("requestId", requestId);
    Checks.notNull("stream", stream);
    Checks.notNull("subject", subject);
  }

  @Override
  public FrameType type() {
    return FrameType.LAST;
  }
}
