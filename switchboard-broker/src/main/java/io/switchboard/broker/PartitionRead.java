package io.switchboard.broker;

import java.util.List;

/**
 * Messages read from one partition of a stream, decoded, and where the next read starts. Immutable.
 *
 * @param messages in offset order
 * @param nextOffset the offset to read from next: past the last message returned, or past what the
 *     read skipped (compacted or filtered away) when it returned none
 */
public record PartitionRead(List<StoredMessage> messages, long nextOffset) {
  public PartitionRead {
    messages = List.copyOf(messages);
  }
}
