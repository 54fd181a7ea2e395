package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * ACKED ([P-8.7]): the outcome of each entry of a confirmed ACKS, in the same order.
 *
 * @param requestId the ACKS frame's id
 * @param applied per entry: true when it acted on the live delivery, false when that delivery was
 *     no longer outstanding (already acknowledged, or redelivered since)
 */
public record Acked(int requestId, List<Boolean> applied) implements Frame {
  public Acked {
    Checks.id("requestId", requestId);
    applied = List.copyOf(applied);
    if (applied.isEmpty()) {
      throw new IllegalArgumentException("ACKED answers at least one entry");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.ACKED;
  }
}
