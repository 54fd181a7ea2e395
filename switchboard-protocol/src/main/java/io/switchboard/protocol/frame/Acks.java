package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * ACKS ([P-8.6]): acknowledgements of deliveries of one consumer. Without {@code confirm} nothing
 * answers it unless it fails (ERROR); with it the server answers ACKED.
 *
 * @param requestId correlates the ACKED or ERROR
 * @param confirm whether the client wants an ACKED frame with each entry's outcome
 * @param stream the stream
 * @param consumer the consumer
 * @param entries one or more acknowledgements, applied in order
 */
public record Acks(
    int requestId, boolean confirm, String stream, String consumer, List<AckEntry> entries)
    implements Frame {
  public Acks {
    Checks.id("requestId", requestId);
    Checks.notNull("stream", stream);
    Checks.notNull("consumer", consumer);
    entries = List.copyOf(entries);
    if (entries.isEmpty()) {
      throw new IllegalArgumentException("ACKS holds at least one entry");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.ACKS;
  }
}
