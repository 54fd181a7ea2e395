package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * PING ([P-5.1]): either side asks for a PONG carrying the same {@code token}. It proves the
 * connection alive, measures round trips, and, since frames are answered in order per connection,
 * tells a client that everything it sent before was read.
 *
 * @param token opaque value echoed by the PONG
 */
public record Ping(long token) implements Frame {
  @Override
  public FrameType type() {
    return FrameType.PING;
  }
}
