package io.switchboard.core.subject;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Subjects and subject patterns: validation and matching. Stateless, thread-safe.
 *
 * <p>A subject is one or more non-empty tokens separated by {@code .}: {@code orders.eu.created}. A
 * pattern may also use two wildcards, each as a whole token: {@code *} matches exactly one token
 * and {@code >} one or more tokens, last position only. Subjects and patterns never contain
 * whitespace, control characters or NUL, and are valid Unicode (a subject read from bytes must be
 * valid UTF-8). The wildcard characters are reserved: a publish subject may not contain them at
 * all, and in a pattern they may only stand alone as a token.
 *
 * <p>Matching walks both strings once, token by token, without splitting or allocating, and never
 * recurses.
 */
public final class Subjects {
  public static final char SEPARATOR = '.';
  public static final String ONE = "*";
  public static final String REST = ">";

  private Subjects() {}

  /**
   * Checks a subject to publish on.
   *
   * @return {@code subject}
   * @throws SwitchboardException {@link ErrorCode#INVALID_SUBJECT}, naming the problem
   */
  public static String validateSubject(String subject, SubjectLimits limits) {
    String problem = check(subject, limits, false);
    if (problem != null) {
      throw SwitchboardException.of(ErrorCode.INVALID_SUBJECT, printable(subject), problem);
    }
    return subject;
  }

  /**
   * Checks a subscription or capture pattern.
   *
   * @return {@code pattern}
   * @throws SwitchboardException {@link ErrorCode#INVALID_PATTERN}, naming the problem
   */
  public static String validatePattern(String pattern, SubjectLimits limits) {
    String problem = check(pattern, limits, true);
    if (problem != null) {
      throw SwitchboardException.of(ErrorCode.INVALID_PATTERN, printable(pattern), problem);
    }
    return pattern;
  }

  /**
   * Decodes a subject from strict UTF-8 and validates it.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_SUBJECT} for malformed UTF-8 too
   */
  public static String subjectFromUtf8(ByteBuffer bytes, SubjectLimits limits) {
    if (bytes.remaining() > limits.maxBytes()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_SUBJECT,
          "(" + bytes.remaining() + " bytes)",
          "longer than " + limits.maxBytes() + " bytes");
    }
    String s;
    try {
      s =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(bytes.duplicate())
              .toString();
    } catch (CharacterCodingException e) {
      throw SwitchboardException.of(ErrorCode.INVALID_SUBJECT, "(bytes)", "not valid UTF-8");
    }
    return validateSubject(s, limits);
  }

  /** Whether {@code pattern} has no wildcard token, so it names exactly one subject. */
  public static boolean isLiteral(String pattern) {
    int start = 0;
    int n = pattern.length();
    for (int i = 0; i <= n; i++) {
      if (i == n || pattern.charAt(i) == SEPARATOR) {
        if (i - start == 1 && isWildcardChar(pattern.charAt(start))) {
          return false;
        }
        start = i + 1;
      }
    }
    return true;
  }

  private static boolean isWildcardChar(char c) {
    return c == '*' || c == '>';
  }

  /** Why the string is not a valid subject (or pattern), or null. */
  private static String check(String s, SubjectLimits limits, boolean pattern) {
    if (s == null || s.isEmpty()) {
      return "empty";
    }
    int n = s.length();
    // A UTF-16 char is at most 3 UTF-8 bytes, so short strings skip the exact count.
    if (n * 3L > limits.maxBytes() && utf8Length(s) > limits.maxBytes()) {
      return "longer than " + limits.maxBytes() + " bytes";
    }
    int tokens = 1;
    int tokenStart = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == SEPARATOR) {
        if (i == tokenStart) {
          return "empty token at position " + i;
        }
        String wildcard = wildcardProblem(s, tokenStart, i, pattern, false);
        if (wildcard != null) {
          return wildcard;
        }
        if (++tokens > limits.maxTokens()) {
          return "more than " + limits.maxTokens() + " tokens";
        }
        tokenStart = i + 1;
      } else if (c <= ' ' || c == 0x7f || Character.isWhitespace(c)) {
        return (c == 0 ? "NUL" : "whitespace or control character") + " at position " + i;
      } else if (Character.isHighSurrogate(c)) {
        if (i + 1 >= n || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return "invalid Unicode (lone surrogate) at position " + i;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return "invalid Unicode (lone surrogate) at position " + i;
      }
    }
    if (tokenStart == n) {
      return "empty token at position " + n;
    }
    return wildcardProblem(s, tokenStart, n, pattern, true);
  }

  private static String wildcardProblem(
      String s, int start, int end, boolean pattern, boolean lastToken) {
    boolean alone = end - start == 1;
    for (int i = start; i < end; i++) {
      char c = s.charAt(i);
      if (!isWildcardChar(c)) {
        continue;
      }
      if (!pattern) {
        return "wildcard '" + c + "' at position " + i + " (not allowed in a publish subject)";
      }
      if (!alone) {
        return "wildcard '" + c + "' at position " + i + " must be a whole token";
      }
      if (c == '>' && !lastToken) {
        return "'>' at position " + i + " must be the last token";
      }
    }
    return null;
  }

  private static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /**
   * Whether a valid {@code pattern} matches a valid {@code subject}: one pass over both, token by
   * token.
   */
  public static boolean matches(String pattern, String subject) {
    int p = 0;
    int s = 0;
    int pn = pattern.length();
    int sn = subject.length();
    while (true) {
      int pe = pattern.indexOf(SEPARATOR, p);
      if (pe < 0) {
        pe = pn;
      }
      int se = subject.indexOf(SEPARATOR, s);
      if (se < 0) {
        se = sn;
      }
      int plen = pe - p;
      if (plen == 1 && pattern.charAt(p) == '>') {
        return true; // at least one subject token remains here, by construction
      }
      if (!(plen == 1 && pattern.charAt(p) == '*')
          && (plen != se - s || !pattern.regionMatches(p, subject, s, plen))) {
        return false;
      }
      boolean patternDone = pe == pn;
      boolean subjectDone = se == sn;
      if (patternDone || subjectDone) {
        return patternDone && subjectDone;
      }
      p = pe + 1;
      s = se + 1;
    }
  }

  /**
   * Whether some subject matches both valid patterns (two streams may not capture such a pair).
   * Walks both token by token: a {@code >} on either side overlaps whatever remains of the other,
   * {@code *} overlaps any token, literals must be equal, and both must end together.
   */
  public static boolean overlaps(String a, String b) {
    int i = 0;
    int j = 0;
    int an = a.length();
    int bn = b.length();
    while (true) {
      int ae = a.indexOf(SEPARATOR, i);
      if (ae < 0) {
        ae = an;
      }
      int be = b.indexOf(SEPARATOR, j);
      if (be < 0) {
        be = bn;
      }
      boolean aRest = ae - i == 1 && a.charAt(i) == '>';
      boolean bRest = be - j == 1 && b.charAt(j) == '>';
      if (aRest || bRest) {
        return true; // each side has at least one token here, which '>' takes with the rest
      }
      boolean aOne = ae - i == 1 && a.charAt(i) == '*';
      boolean bOne = be - j == 1 && b.charAt(j) == '*';
      if (!aOne && !bOne && (ae - i != be - j || !a.regionMatches(i, b, j, ae - i))) {
        return false;
      }
      boolean aDone = ae == an;
      boolean bDone = be == bn;
      if (aDone || bDone) {
        return aDone && bDone;
      }
      i = ae + 1;
      j = be + 1;
    }
  }

  /** Quotes control characters so an error message stays one readable line. */
  private static String printable(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(Math.min(s.length(), 200) + 8);
    for (int i = 0; i < s.length() && out.length() < 200; i++) {
      char c = s.charAt(i);
      if (c < ' ' || c == 0x7f) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    if (out.length() >= 200) {
      out.append("...");
    }
    return out.toString();
  }
}
