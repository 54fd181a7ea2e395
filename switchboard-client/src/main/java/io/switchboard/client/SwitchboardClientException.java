package io.switchboard.client;

import io.switchboard.core.ErrorCode;

/** A request the server refused or could not answer, with the server's error code. Immutable. */
public final class SwitchboardClientException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int code;
  private final String detail;

  public SwitchboardClientException(int code, String message) {
    super("[" + code + " " + nameOf(code) + "] " + message);
    this.code = code;
    this.detail = message;
  }

  /** The message without the code prefix. */
  public String detail() {
    return detail;
  }

  /** The error code's number ({@code docs/errors.md}). */
  public int code() {
    return code;
  }

  /** The error code, or {@code null} when this client does not know the number. */
  public ErrorCode errorCode() {
    return ErrorCode.byNumber(code);
  }

  private static String nameOf(int code) {
    ErrorCode c = ErrorCode.byNumber(code);
    return c == null ? "UNKNOWN" : c.name();
  }
}
