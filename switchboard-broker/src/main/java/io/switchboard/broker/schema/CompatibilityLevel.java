package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.Locale;

/**
 * What a new version of a subject must be compatible with (Confluent's compatibility levels).
 * Immutable.
 *
 * <p>BACKWARD: the new schema reads data written with the previous one (consumers upgrade first).
 * FORWARD: the previous schema reads data written with the new one (producers upgrade first). FULL:
 * both. The {@code _TRANSITIVE} levels check every earlier live version rather than only the
 * latest.
 */
public enum CompatibilityLevel {
  NONE(false, false, false),
  BACKWARD(true, false, false),
  BACKWARD_TRANSITIVE(true, false, true),
  FORWARD(false, true, false),
  FORWARD_TRANSITIVE(false, true, true),
  FULL(true, true, false),
  FULL_TRANSITIVE(true, true, true);

  /** Confluent's default, and ours. */
  public static final CompatibilityLevel DEFAULT = BACKWARD;

  private final boolean backward;
  private final boolean forward;
  private final boolean transitive;

  CompatibilityLevel(boolean backward, boolean forward, boolean transitive) {
    this.backward = backward;
    this.forward = forward;
    this.transitive = transitive;
  }

  /** Whether the new schema must read the old ones' data. */
  public boolean backward() {
    return backward;
  }

  /** Whether the old schemas must read the new one's data. */
  public boolean forward() {
    return forward;
  }

  /** Whether every earlier live version is checked, not only the latest. */
  public boolean transitive() {
    return transitive;
  }

  /**
   * The level named {@code text}, in any case.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_COMPATIBILITY_INVALID}
   */
  public static CompatibilityLevel parse(String text) {
    if (text != null) {
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        // reported below, with the text
      }
    }
    throw SwitchboardException.of(ErrorCode.SCHEMA_COMPATIBILITY_INVALID, text);
  }
}
