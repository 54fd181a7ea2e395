package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * UNSUBSCRIBE ([P-7.2]): ends a live subscription or a CONSUME. No answer; an unknown sid is
 * ignored, so the frame is idempotent.
 *
 * @param sid the subscription id
 * @param maxMessages 0 to end now; otherwise end after this many more live messages (a CONSUME
 *     ignores it and ends now)
 */
public record Unsubscribe(int sid, int maxMessages) implements Frame {
  public Unsubscribe {
    Checks.id("sid", sid);
    if (maxMessages < 0) {
      throw new IllegalArgumentException("maxMessages must be >= 0");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.UNSUBSCRIBE;
  }
}
