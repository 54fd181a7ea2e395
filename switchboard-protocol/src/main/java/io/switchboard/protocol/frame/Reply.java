package io.switchboard.protocol.frame;

import io.switchboard.core.Header;
import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * REPLY ([P-7.6]): the first answer to a REQUEST.
 *
 * @param requestId the request's id
 * @param headers the answer's headers
 * @param payload the answer's body
 */
public record Reply(int requestId, List<Header> headers, byte[] payload) implements Frame {
  public Reply {
    Checks.id("requestId", requestId);
    headers = headers == null ? List.of() : List.copyOf(headers);
    Checks.notNull("payload", payload);
  }

  @Override
  public FrameType type() {
    return FrameType.REPLY;
  }
}
