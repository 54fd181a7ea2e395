package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * PONG ([P-5.1]): the answer to a PING.
 *
 * @param token the PING's token
 */
public record Pong(long token) implements Frame {
  @Override
  public FrameType type() {
    return FrameType.PONG;
  }
}
