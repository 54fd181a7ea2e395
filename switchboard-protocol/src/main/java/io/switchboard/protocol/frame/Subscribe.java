package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * SUBSCRIBE ([P-7.1]): a live, at-most-once subscription to a pattern; answered with OK once it is
 * in place, or ERROR.
 *
 * @param requestId correlates the OK or ERROR
 * @param sid the client-chosen subscription id that MESSAGE and DROPPED frames carry
 * @param pattern the subject pattern ({@code *} one token, {@code >} the rest)
 * @param queueGroup a queue group (each message goes to one member), or {@code null}
 */
public record Subscribe(int requestId, int sid, String pattern, String queueGroup)
    implements Frame {
  public Subscribe {
    Checks.id("requestId", requestId);
    Checks.id("sid", sid);
    Checks.notNull("pattern", pattern);
  }

  @Override
  public FrameType type() {
    return FrameType.SUBSCRIBE;
  }
}
