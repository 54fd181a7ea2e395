package io.switchboard.protocol.frame;

import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.FrameType;

/**
 * ERROR ([P-5.3]): a request failed, or (request id 0) the connection did.
 *
 * @param requestId the failed request's id, or 0 for the connection
 * @param fatal the sender closes the connection after this frame
 * @param code the {@link ErrorCode} number; a receiver may see numbers it does not know (a newer
 *     peer) and must treat them by their range
 * @param message human-readable detail
 */
public record ErrorFrame(int requestId, boolean fatal, int code, String message) implements Frame {
  public ErrorFrame {
    if (code < 1 || code > 0xFFFF) {
      throw new IllegalArgumentException("code " + code + " not in [1, 65535]");
    }
    Checks.notNull("message", message);
  }

  /** An error frame for {@code code}. */
  public static ErrorFrame of(int requestId, boolean fatal, ErrorCode code, String message) {
    return new ErrorFrame(requestId, fatal, code.number(), message);
  }

  /** The code as an {@link ErrorCode}, or {@code null} when this side does not know the number. */
  public ErrorCode errorCode() {
    return ErrorCode.byNumber(code);
  }

  @Override
  public FrameType type() {
    return FrameType.ERROR;
  }
}
