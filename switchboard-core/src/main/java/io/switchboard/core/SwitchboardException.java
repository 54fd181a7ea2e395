package io.switchboard.core;

/**
 * The one exception type of Switchboard: an {@link ErrorCode} plus a message naming the problem.
 * Immutable, thread-safe.
 */
public final class SwitchboardException extends RuntimeException {
  private final ErrorCode code;
  private final String detail;

  private SwitchboardException(ErrorCode code, String message, Throwable cause) {
    super("[" + code.number() + " " + code + "] " + message, cause);
    this.code = code;
    this.detail = message;
  }

  /** An exception whose message is the code's template filled with {@code args}. */
  public static SwitchboardException of(ErrorCode code, Object... args) {
    return new SwitchboardException(code, code.format(args), null);
  }

  /** As {@link #of}, keeping {@code cause}. */
  public static SwitchboardException wrap(Throwable cause, ErrorCode code, Object... args) {
    return new SwitchboardException(code, code.format(args), cause);
  }

  public ErrorCode code() {
    return code;
  }

  /** The message without the code prefix: what goes on the wire next to the code's number. */
  public String detail() {
    return detail;
  }
}
