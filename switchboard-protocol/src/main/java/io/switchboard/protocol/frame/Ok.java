package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * OK ([P-5.4]): a request with no other result (SUBSCRIBE, CONSUME) succeeded.
 *
 * @param requestId the request's id
 */
public record Ok(int requestId) implements Frame {
  public Ok {
    Checks.id("requestId", requestId);
  }

  @Override
  public FrameType type() {
    return FrameType.OK;
  }
}
