package io.switchboard.services;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Building and unwrapping coded errors. Stateless. */
final class Errors {
  private Errors() {}

  static SwitchboardClientException of(ErrorCode code, Object... args) {
    return new SwitchboardClientException(code.number(), code.format(args));
  }

  /** {@code t} without CompletionException / ExecutionException wrappers. */
  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The code of {@code t}, or null when it carries none. */
  static ErrorCode codeOf(Throwable t) {
    return unwrap(t) instanceof SwitchboardClientException e ? e.errorCode() : null;
  }

  /** A short description of an exception from application code, for an error message. */
  static String describe(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + m;
  }
}
