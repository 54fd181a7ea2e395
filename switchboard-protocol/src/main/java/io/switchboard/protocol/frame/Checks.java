package io.switchboard.protocol.frame;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/** Argument checks shared by the frame records. Stateless, thread-safe. */
final class Checks {
  private Checks() {}

  /** Request and subscription ids are client-chosen and never 0 ([P-3.4]). */
  static int id(String what, int id) {
    if (id == 0) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, what + " must not be 0");
    }
    return id;
  }

  static int positive(String what, int value) {
    if (value < 1) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, what + " must be >= 1 (got " + value + ")");
    }
    return value;
  }

  static <T> T notNull(String what, T value) {
    if (value == null) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, what + " must be set");
    }
    return value;
  }
}
