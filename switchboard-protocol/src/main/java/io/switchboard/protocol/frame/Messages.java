package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * MESSAGES ([P-10.4]): the answer to READ, READ_SUBJECT and LAST.
 *
 * @param requestId the read's id
 * @param nextOffset for READ and READ_SUBJECT, the offset to continue from (past gaps left by
 *     compaction or retention); -1 for LAST
 * @param messages what was read, possibly nothing
 */
public record Messages(int requestId, long nextOffset, List<StoredEntry> messages)
    implements Frame {
  public Messages {
    Checks.id("requestId", requestId);
    messages = List.copyOf(messages);
  }

  @Override
  public FrameType type() {
    return FrameType.MESSAGES;
  }
}
