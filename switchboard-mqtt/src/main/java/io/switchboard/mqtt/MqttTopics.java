package io.switchboard.mqtt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The reversible mapping between MQTT topics and Switchboard subjects (docs/mqtt.md). Stateless,
 * thread-safe.
 *
 * <p>Levels ({@code /}) become tokens ({@code .}). A level that is empty becomes the token {@code
 * %}. Inside a level, every character a subject reserves — {@code .}, {@code *}, {@code >},
 * whitespace and control characters — and the escape character {@code %} itself are written as
 * {@code %HH}, one per byte of their UTF-8 form. So {@code /a.b/ c} becomes {@code %.a%2Eb.%20c},
 * and every legal topic maps to exactly one subject and back. Filters map their wildcards: {@code
 * +} to {@code *}, {@code #} to {@code >}.
 */
public final class MqttTopics {
  private MqttTopics() {}

  /** The token standing for an empty level. */
  static final String EMPTY_LEVEL = "%";

  /** The subject of a topic name (no wildcards; the caller has checked that). */
  public static String toSubject(String topic) {
    List<String> levels = split(topic);
    StringBuilder out = new StringBuilder(topic.length() + 8);
    for (int i = 0; i < levels.size(); i++) {
      if (i > 0) {
        out.append('.');
      }
      appendLevel(out, levels.get(i), 0, levels.get(i).length());
    }
    return out.toString();
  }

  /**
   * The subject patterns a filter stands for. Usually one; a filter ending in {@code /#} also
   * matches its parent level in MQTT, which a Switchboard {@code >} does not, so it gives two.
   */
  public static List<String> toPatterns(String filter) {
    List<String> levels = split(filter);
    StringBuilder out = new StringBuilder(filter.length() + 8);
    for (int i = 0; i < levels.size(); i++) {
      if (i > 0) {
        out.append('.');
      }
      String level = levels.get(i);
      if (level.equals("+")) {
        out.append('*');
      } else if (level.equals("#")) {
        out.append('>');
      } else {
        appendLevel(out, level, 0, level.length());
      }
    }
    List<String> patterns = new ArrayList<>(2);
    patterns.add(out.toString());
    if (levels.size() > 1 && levels.get(levels.size() - 1).equals("#")) {
      patterns.add(out.substring(0, out.length() - 2)); // "a.>" -> also "a"
    }
    return patterns;
  }

  /** The topic of a subject (the inverse of {@link #toSubject}). */
  public static String toTopic(String subject) {
    StringBuilder out = new StringBuilder(subject.length());
    int start = 0;
    for (int i = 0; i <= subject.length(); i++) {
      if (i == subject.length() || subject.charAt(i) == '.') {
        if (start > 0) {
          out.append('/');
        }
        String token = subject.substring(start, i);
        if (!token.equals(EMPTY_LEVEL)) {
          out.append(unescape(token));
        }
        start = i + 1;
      }
    }
    return out.toString();
  }

  /**
   * Whether topic filter {@code filter} (no {@code $share/} prefix) matches topic name {@code
   * topic} by MQTT's rules [MQTT-4.7.1, 4.7.2-1]: {@code +} one whole level, {@code #} the rest
   * (and the parent level), no wildcard first for a {@code $} topic.
   */
  public static boolean matches(String filter, String topic) {
    if (!wildcardMaySee(filter, topic)) {
      return false;
    }
    int f = 0;
    int t = 0;
    while (true) {
      int fEnd = filter.indexOf('/', f);
      String level = filter.substring(f, fEnd < 0 ? filter.length() : fEnd);
      if (level.equals("#")) {
        return true; // the rest, including none: "a/#" matches "a" [MQTT-4.7.1-2]
      }
      if (t > topic.length()) {
        return false; // the topic has fewer levels
      }
      int tEnd = topic.indexOf('/', t);
      int tStop = tEnd < 0 ? topic.length() : tEnd;
      if (!level.equals("+") && !level.equals(topic.substring(t, tStop))) {
        return false;
      }
      if (fEnd < 0) {
        return tEnd < 0;
      }
      f = fEnd + 1;
      t = tEnd < 0 ? topic.length() + 1 : tEnd + 1;
    }
  }

  /**
   * Whether a filter starting with a wildcard may see this topic ([MQTT-4.7.2-1]: not $-topics).
   */
  public static boolean wildcardMaySee(String filter, String topic) {
    return !(topic.startsWith("$") && (filter.startsWith("#") || filter.startsWith("+")));
  }

  private static List<String> split(String s) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= s.length(); i++) {
      if (i == s.length() || s.charAt(i) == '/') {
        out.add(s.substring(start, i));
        start = i + 1;
      }
    }
    return out;
  }

  private static void appendLevel(StringBuilder out, String s, int from, int to) {
    if (from == to) {
      out.append(EMPTY_LEVEL);
      return;
    }
    for (int i = from; i < to; ) {
      int cp = s.codePointAt(i);
      int len = Character.charCount(cp);
      if (reserved(cp)) {
        for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
          out.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
        }
      } else {
        out.appendCodePoint(cp);
      }
      i += len;
    }
  }

  private static boolean reserved(int cp) {
    return cp == '.'
        || cp == '*'
        || cp == '>'
        || cp == '%'
        || cp <= ' '
        || cp == 0x7f
        || Character.isWhitespace(cp)
        || Character.isSpaceChar(cp);
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private static String unescape(String token) {
    if (token.indexOf('%') < 0) {
      return token;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(token.length());
    for (int i = 0; i < token.length(); ) {
      char c = token.charAt(i);
      if (c == '%' && i + 2 < token.length()) {
        bytes.write(Integer.parseInt(token, i + 1, i + 3, 16));
        i += 3;
      } else {
        int cp = token.codePointAt(i);
        byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
        i += Character.charCount(cp);
      }
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          "subject token " + token + " is not an escaped topic level");
    }
  }
}
