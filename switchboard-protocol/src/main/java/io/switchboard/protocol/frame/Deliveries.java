package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * DELIVERIES ([P-8.2]): the answer to a FETCH.
 *
 * @param requestId the fetch's id
 * @param deliveries what was fetched, possibly nothing
 */
public record Deliveries(int requestId, List<DeliveryEntry> deliveries) implements Frame {
  public Deliveries {
    Checks.id("requestId", requestId);
    deliveries = List.copyOf(deliveries);
  }

  @Override
  public FrameType type() {
    return FrameType.DELIVERIES;
  }
}
