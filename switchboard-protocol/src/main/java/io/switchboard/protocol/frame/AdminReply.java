package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * ADMIN_REPLY ([P-11]): the JSON result of an ADMIN request.
 *
 * @param requestId the request's id
 * @param body the UTF-8 JSON result document (may be empty, e.g. after a delete)
 */
public record AdminReply(int requestId, byte[] body) implements Frame {
  public AdminReply {
    Checks.id("requestId", requestId);
    Checks.notNull("body", body);
  }

  @Override
  public FrameType type() {
    return FrameType.ADMIN_REPLY;
  }
}
