package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * ADMIN ([P-11]): a stream or consumer administration request; the body is a UTF-8 JSON document
 * whose shape depends on {@code op} (documented in {@code docs/protocol.md}). The codec does not
 * parse it. Answered with ADMIN_REPLY or ERROR.
 *
 * @param requestId correlates the ADMIN_REPLY or ERROR
 * @param op the operation
 * @param body the JSON request document (may be empty)
 */
public record Admin(int requestId, Op op, byte[] body) implements Frame {

  /** Administration operations; wire values are {@link #code()}. */
  public enum Op {
    STREAM_CREATE(1),
    STREAM_UPDATE(2),
    STREAM_DELETE(3),
    STREAM_INFO(4),
    STREAM_LIST(5),
    CONSUMER_CREATE(6),
    CONSUMER_DELETE(7),
    CONSUMER_INFO(8),
    CONSUMER_LIST(9);

    private final int code;

    Op(int code) {
      this.code = code;
    }

    /** The wire value. */
    public int code() {
      return code;
    }

    /** The operation with wire value {@code code}, or {@code null}. */
    public static Op byCode(int code) {
      Op[] all = values();
      return code >= 1 && code <= all.length ? all[code - 1] : null;
    }
  }

  public Admin {
    Checks.id("requestId", requestId);
    Checks.notNull("op", op);
    Checks.notNull("body", body);
  }

  @Override
  public FrameType type() {
    return FrameType.ADMIN;
  }
}
