package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * CREDIT ([P-8.4]): grants a CONSUME subscription {@code credits} more deliveries. No answer.
 *
 * @param sid the CONSUME subscription
 * @param credits how many (>= 1)
 */
public record Credit(int sid, int credits) implements Frame {
  public Credit {
    Checks.id("sid", sid);
    Checks.positive("credits", credits);
  }

  @Override
  public FrameType type() {
    return FrameType.CREDIT;
  }
}
