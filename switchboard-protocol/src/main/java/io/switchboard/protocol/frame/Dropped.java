package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * DROPPED ([P-7.4]): live messages for a subscription were dropped because the subscriber did not
 * keep up (at-most-once delivery).
 *
 * @param sid the subscription
 * @param totalDropped messages dropped for it so far (a running total, so a lost notice loses no
 *     information)
 */
public record Dropped(int sid, long totalDropped) implements Frame {
  public Dropped {
    Checks.id("sid", sid);
    if (totalDropped < 1) {
      throw new IllegalArgumentException("totalDropped must be >= 1");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.DROPPED;
  }
}
