package io.switchboard.protocol.frame;

import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.FrameType;

/**
 * GOODBYE ([P-5.2]): the sender is closing the connection gracefully; it sends nothing after it.
 *
 * @param code 0 for a normal close, else an {@link ErrorCode} number (for example {@link
 *     ErrorCode#SERVER_SHUTTING_DOWN})
 * @param reason text for logs (may be empty)
 */
public record Goodbye(int code, String reason) implements Frame {
  public Goodbye {
    if (code < 0 || code > 0xFFFF) {
      throw new IllegalArgumentException("code " + code + " not in [0, 65535]");
    }
    Checks.notNull("reason", reason);
  }

  @Override
  public FrameType type() {
    return FrameType.GOODBYE;
  }
}
