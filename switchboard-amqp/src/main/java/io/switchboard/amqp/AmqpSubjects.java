package io.switchboard.amqp;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Exchanges and routing keys onto subjects, reversibly (docs/amqp.md): a message published to
 * exchange {@code X} with routing key {@code w1.w2…} is published on subject {@code
 * esc(X).esc(w1).esc(w2)…} (the empty key: just {@code esc(X)}); a queue {@code Q} is a stream
 * capturing {@code $AMQP.queue.esc(Q)}, which is also where the default exchange publishes. {@code
 * esc} is the escaping of the MQTT front end: an empty word is {@code %}; {@code . * > %},
 * whitespace and control characters are {@code %HH} per UTF-8 byte.
 */
final class AmqpSubjects {
  static final String QUEUE_PREFIX = "$AMQP.queue.";

  private AmqpSubjects() {}

  static String escape(String word) {
    if (word.isEmpty()) {
      return "%";
    }
    StringBuilder out = null;
    for (int i = 0; i < word.length(); i++) {
      char c = word.charAt(i);
      boolean special =
          c == '.'
              || c == '*'
              || c == '>'
              || c == '%'
              || c <= ' '
              || c == 0x7f
              || Character.isWhitespace(c);
      if (special && out == null) {
        out = new StringBuilder(word.length() + 8).append(word, 0, i);
      }
      if (out != null) {
        if (special) {
          for (byte b : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
            out.append('%').append(String.format("%02X", b & 0xff));
          }
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? word : out.toString();
  }

  /** Whether {@code s} has no character {@link #escape} changes ({@code dots}: '.' allowed). */
  private static boolean plain(String s, boolean dots) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ((c == '.' && !dots)
          || c == '*'
          || c == '>'
          || c == '%'
          || c <= ' '
          || c == 0x7f
          || (c > 0x7f && Character.isWhitespace(c))) {
        return false;
      }
    }
    return true;
  }

  /** A non-empty key whose words are all non-empty and need no escaping. */
  private static boolean plainKey(String key) {
    return key.charAt(0) != '.'
        && key.charAt(key.length() - 1) != '.'
        && !key.contains("..")
        && plain(key, true);
  }

  static String unescape(String token) {
    if (token.equals("%")) {
      return "";
    }
    if (token.indexOf('%') < 0) {
      return token;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] b = token.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < b.length; i++) {
      int hex = b[i] == '%' && i + 2 < b.length ? hex(b[i + 1], b[i + 2]) : -1;
      if (hex >= 0) {
        out.write(hex);
        i += 2;
      } else {
        out.write(b[i]);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static int hex(byte hi, byte lo) {
    int h = Character.digit(hi, 16);
    int l = Character.digit(lo, 16);
    return h < 0 || l < 0 ? -1 : h << 4 | l;
  }

  /** The words of a routing key: "" has none, "a." has "a" and "". */
  static List<String> words(String key) {
    if (key.isEmpty()) {
      return List.of();
    }
    return List.of(key.split("\\.", -1));
  }

  /** The subject a publish to {@code exchange} (not the default one) with {@code key} goes to. */
  static String subject(String exchange, String key) {
    if (!exchange.isEmpty() && plain(exchange, false) && (key.isEmpty() || plainKey(key))) {
      return key.isEmpty() ? exchange : exchange + '.' + key; // nothing to escape: the usual case
    }
    StringBuilder s = new StringBuilder(escape(exchange));
    for (String w : words(key)) {
      s.append('.').append(escape(w));
    }
    return s.toString();
  }

  static String queueSubject(String queue) {
    return QUEUE_PREFIX + escape(queue);
  }

  /** Exchange and routing key of a subject made by {@link #subject}: {@code [exchange, key]}. */
  static String[] exchangeAndKey(String subject) {
    if (subject.indexOf('%') < 0) { // nothing escaped: split at the first dot
      int dot = subject.indexOf('.');
      return dot < 0
          ? new String[] {subject, ""}
          : new String[] {subject.substring(0, dot), subject.substring(dot + 1)};
    }
    String[] tokens = subject.split("\\.", -1);
    StringBuilder key = new StringBuilder();
    for (int i = 1; i < tokens.length; i++) {
      if (i > 1) {
        key.append('.');
      }
      key.append(unescape(tokens[i]));
    }
    return new String[] {unescape(tokens[0]), key.toString()};
  }

  /**
   * Whether a binding key of {@code type} needs the filter: a topic key with '#' before its end.
   */
  static boolean needsFilter(String type, String key) {
    if (!type.equals("topic")) {
      return false;
    }
    List<String> words = words(key);
    int hash = words.indexOf("#");
    return hash >= 0 && hash < words.size() - 1;
  }

  /**
   * The subject patterns a binding of {@code exchange} (of {@code type}) with {@code key} captures:
   * a direct key is its one subject; fanout and headers are the exchange's every subject ({@code X}
   * and {@code X.>}); a topic key maps {@code *} to {@code *} and its first {@code #} to two
   * patterns, without it and with {@code >}, the rest of the key (when there is any) left to the
   * filter ({@link #needsFilter}, {@link #topicMatches}).
   */
  static List<String> patterns(String type, String exchange, String key) {
    String x = escape(exchange);
    if (type.equals("fanout") || type.equals("headers")) {
      return List.of(x, x + ".>");
    }
    if (type.equals("direct")) {
      return List.of(subject(exchange, key));
    }
    StringBuilder prefix = new StringBuilder(x);
    List<String> words = words(key);
    for (String w : words) {
      if (w.equals("#")) {
        List<String> out = new ArrayList<>();
        out.add(prefix.toString());
        out.add(prefix + ".>");
        return out;
      }
      prefix.append('.').append(w.equals("*") ? "*" : escape(w));
    }
    return List.of(prefix.toString());
  }

  /** The routing key's words of a subject made by {@link #subject}: its tokens after the first. */
  static List<String> keyWords(String subject) {
    int dot = subject.indexOf('.');
    if (dot < 0) {
      return List.of();
    }
    String[] tokens = subject.substring(dot + 1).split("\\.", -1);
    List<String> out = new ArrayList<>(tokens.length);
    for (String t : tokens) {
      out.add(unescape(t));
    }
    return out;
  }

  /** RabbitMQ's topic match: {@code *} is exactly one word, {@code #} zero or more, anywhere. */
  static boolean topicMatches(String pattern, String key) {
    return matchWords(words(pattern), words(key));
  }

  /**
   * Whether pattern words {@code p} match key words {@code k}, in O(|p|·|k|) time whatever the
   * number of {@code #}s (a backtracking matcher is exponential in them, and runs in every
   * publish).
   */
  static boolean matchWords(List<String> p, List<String> k) {
    int n = k.size();
    boolean[] next = new boolean[n + 1]; // next[j]: p[i+1..] matches k[j..]
    next[n] = true;
    for (int i = p.size() - 1; i >= 0; i--) {
      boolean[] cur = new boolean[n + 1];
      String w = p.get(i);
      if (w.equals("#")) {
        cur[n] = next[n];
        for (int j = n - 1; j >= 0; j--) {
          cur[j] = next[j] || cur[j + 1];
        }
      } else {
        boolean any = w.equals("*");
        for (int j = n - 1; j >= 0; j--) {
          cur[j] = next[j + 1] && (any || w.equals(k.get(j)));
        }
      }
      next = cur;
    }
    return next[0];
  }

  /**
   * The exchange and routing key a stored queue message was published with: from the binding's
   * original subject, else the default exchange and the queue's name (or the subject).
   */
  static String[] route(io.switchboard.core.Message m) {
    byte[] bound = m.header(io.switchboard.broker.BindingSpec.ORIGINAL_SUBJECT_HEADER);
    if (bound != null) {
      return exchangeAndKey(new String(bound, java.nio.charset.StandardCharsets.UTF_8));
    }
    if (m.subject().startsWith(QUEUE_PREFIX)) {
      return new String[] {"", unescape(m.subject().substring(QUEUE_PREFIX.length()))};
    }
    return new String[] {"", m.subject()};
  }
}
