package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * READ_SUBJECT ([P-10.2]): every message of one subject, in order, from an offset (the event-store
 * read of an aggregate); answered with MESSAGES.
 *
 * @param requestId correlates the MESSAGES or ERROR
 * @param fromOffset the first offset wanted
 * @param maxMessages most messages to return (>= 1)
 * @param stream the stream
 * @param subject the subject (no wildcards)
 */
public record ReadSubject(
    int requestId, long fromOffset, int maxMessages, String stream, String subject)
    implements Frame {
  public ReadSubject {
    Checks.id("requestId", requestId);
    Checks.positive("maxMessages", maxMessages);
    Checks.notNull("stream", stream);
    Checks.notNull("subject", subject);
  }

  @Override
  public FrameType type() {
    return FrameType.READ_SUBJECT;
  }
}
