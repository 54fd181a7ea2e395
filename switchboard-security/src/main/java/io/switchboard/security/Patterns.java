package io.switchboard.security;

import io.switchboard.core.subject.Subjects;

/**
 * Relations between subject patterns ({@code *} one token, {@code >} one or more at the end) that
 * the rules need. Stateless.
 */
final class Patterns {
  private Patterns() {}

  /** Whether some subject matches both valid patterns. */
  static boolean overlaps(String a, String b) {
    return Subjects.overlaps(a, b);
  }

  /**
   * Whether every subject that {@code inner} matches is also matched by {@code outer} (both valid
   * patterns; for a literal {@code inner} this is {@link Subjects#matches}).
   */
  static boolean covers(String outer, String inner) {
    int i = 0;
    int j = 0;
    int on = outer.length();
    int in = inner.length();
    while (true) {
      int oe = outer.indexOf('.', i);
      if (oe < 0) {
        oe = on;
      }
      int ie = inner.indexOf('.', j);
      if (ie < 0) {
        ie = in;
      }
      boolean oRest = oe - i == 1 && outer.charAt(i) == '>';
      if (oRest) {
        return true; // inner has at least one token here, and '>' takes it and the rest
      }
      boolean iRest = ie - j == 1 && inner.charAt(j) == '>';
      if (iRest) {
        return false; // only '>' covers '>' (any depth)
      }
      boolean oOne = oe - i == 1 && outer.charAt(i) == '*';
      boolean iOne = ie - j == 1 && inner.charAt(j) == '*';
      if (!oOne && (iOne || oe - i != ie - j || !outer.regionMatches(i, inner, j, oe - i))) {
        return false;
      }
      boolean oDone = oe == on;
      boolean iDone = ie == in;
      if (oDone || iDone) {
        return oDone && iDone;
      }
      i = oe + 1;
      j = ie + 1;
    }
  }
}
