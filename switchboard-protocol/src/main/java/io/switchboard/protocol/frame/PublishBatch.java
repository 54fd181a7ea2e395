package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * PUBLISH_BATCH ([P-6.2]): several publishes in one frame, each with its own request id and
 * answered on its own, so a client pays one frame header and one write for many messages.
 *
 * @param publishes one or more publishes, in the order the server handles them
 */
public record PublishBatch(List<Publish> publishes) implements Frame {
  public PublishBatch {
    publishes = List.copyOf(publishes);
    if (publishes.isEmpty()) {
      throw new IllegalArgumentException("a batch holds at least one publish");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.PUBLISH_BATCH;
  }
}
