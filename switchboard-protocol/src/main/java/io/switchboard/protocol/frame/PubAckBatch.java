package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * PUB_ACK_BATCH ([P-6.4]): several publish acknowledgements in one frame, in any order. A server
 * may answer the entries of one PUBLISH_BATCH with several of these, with single PUB_ACKs, and with
 * ERRORs for the entries that failed.
 *
 * @param acks one or more acknowledgements
 */
public record PubAckBatch(List<PubAck> acks) implements Frame {
  public PubAckBatch {
    acks = List.copyOf(acks);
    if (acks.isEmpty()) {
      throw new IllegalArgumentException("a batch holds at least one ack");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.PUB_ACK_BATCH;
  }
}
