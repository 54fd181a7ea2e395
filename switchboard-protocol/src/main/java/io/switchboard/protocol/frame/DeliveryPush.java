package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * DELIVERY ([P-8.5]): one message pushed to a CONSUME subscription; it uses one credit.
 *
 * @param sid the CONSUME subscription
 * @param delivery the message and where it is stored
 */
public record DeliveryPush(int sid, DeliveryEntry delivery) implements Frame {
  public DeliveryPush {
    Checks.id("sid", sid);
    Checks.notNull("delivery", delivery);
  }

  @Override
  public FrameType type() {
    return FrameType.DELIVERY;
  }
}
