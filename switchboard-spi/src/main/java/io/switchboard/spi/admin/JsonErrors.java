package io.switchboard.spi.admin;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.PropertyBindingException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a Jackson failure says, in the terms of whoever wrote the JSON: {@code unexpected end at
 * line 1 column 12}, {@code field "partitions" must be a whole number}. Jackson's own messages name
 * its features, Java types ({@code java.util.ArrayList}) and source descriptions, which mean
 * nothing to a client and say more than it needs about the server; they are logged nowhere and
 * never sent. Stateless, thread-safe.
 */
public final class JsonErrors {
  private JsonErrors() {}

  private static final Pattern UNEXPECTED_CHAR =
      Pattern.compile("^Unexpected character \\('(.*?)' \\(code (\\d+)");
  private static final Pattern UNRECOGNIZED_TOKEN = Pattern.compile("^Unrecognized token '(.*?)'");
  private static final Pattern CLOSE_MARKER = Pattern.compile("^Unexpected close marker '(.)'");

  /** The longest bit of the sender's text quoted back. */
  private static final int MAX_QUOTED = 40;

  /**
   * {@code e} in the writer's terms: a syntax error with where it is ({@code unexpected end at line
   * 1 column 12}), or what a field must be ({@code field "subjects" must be an array}).
   */
  public static String describe(JacksonException e) {
    if (e instanceof DatabindException d) {
      return binding(d);
    }
    if (e instanceof InputCoercionException c) {
      return field(currentField(c)) + " must be " + kind(c.getTargetType());
    }
    return syntax(e) + at(e.getLocation());
  }

  /** What is wrong with the text, from Jackson's message (never quoting the message itself). */
  private static String syntax(JacksonException e) {
    String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
    Matcher c = UNEXPECTED_CHAR.matcher(m);
    if (m.startsWith("Unexpected end-of-input")) {
      return "unexpected end";
    }
    if (c.find()) {
      int code = Integer.parseInt(c.group(2));
      String what = "unexpected " + character(code, c.group(1));
      if (m.contains("double-quote to start field name")) {
        return what + " where a field name in double quotes belongs";
      }
      if (m.contains("comma to separate")) {
        return what + " where a comma belongs";
      }
      if (m.contains("was expecting a colon")) {
        return what + " where a colon belongs";
      }
      return what;
    }
    Matcher t = UNRECOGNIZED_TOKEN.matcher(m);
    if (t.find()) {
      return "unexpected " + quote(t.group(1)) + " (strings need double quotes)";
    }
    Matcher close = CLOSE_MARKER.matcher(m);
    if (close.find()) {
      return "'" + close.group(1) + "' closes nothing open here";
    }
    if (m.startsWith("Illegal unquoted character")) {
      return "a control character in a string (escape it)";
    }
    if (m.startsWith("Invalid UTF-8") || m.contains("Invalid UTF-8")) {
      return "bytes that are not UTF-8";
    }
    if (m.startsWith("Non-standard token")) {
      return "NaN or Infinity, which JSON has no number for";
    }
    if (m.startsWith("Unrecognized character escape")) {
      return "an unknown escape in a string";
    }
    if (m.contains("numeric value") || m.contains("Leading zeroes") || m.contains("number")) {
      return "a malformed number";
    }
    return "a syntax error";
  }

  private static String at(JsonLocation at) {
    if (at == null || at.getLineNr() < 1) {
      return "";
    }
    return " at line " + at.getLineNr() + " column " + at.getColumnNr();
  }

  private static String character(int code, String text) {
    if (code == '\'') {
      return "single quote (JSON strings and names take double quotes)";
    }
    if (code < 0x20 || code == 0x7f) {
      return String.format(Locale.ROOT, "control character U+%04X", code);
    }
    return "'" + text + "'";
  }

  private static String quote(String text) {
    return "'" + (text.length() > MAX_QUOTED ? text.substring(0, MAX_QUOTED) + "..." : text) + "'";
  }

  /** A value of the wrong type or form, at a field the path names. */
  private static String binding(DatabindException d) {
    String where = field(path(d));
    if (d instanceof PropertyBindingException p) {
      return "unknown " + where + " (known: " + String.join(", ", known(p)) + ")";
    }
    if (d instanceof ValueInstantiationException v) {
      // A definition's own check failed (its message is ours, not Jackson's).
      Throwable cause = v.getCause();
      return cause instanceof IllegalArgumentException && cause.getMessage() != null
          ? cause.getMessage()
          : where + " is not valid";
    }
    if (d instanceof InvalidFormatException f && f.getTargetType() != null) {
      return where + " must be " + kind(f.getTargetType()) + ", not " + value(f.getValue());
    }
    if (d instanceof MismatchedInputException mi) {
      return where + " must be " + kind(mi.getTargetType());
    }
    if (d.getCause() instanceof InputCoercionException c) {
      return where + " must be " + kind(c.getTargetType());
    }
    return where + " is not valid";
  }

  private static java.util.List<String> known(PropertyBindingException p) {
    Collection<Object> ids = p.getKnownPropertyIds();
    return ids == null ? java.util.List.of() : ids.stream().map(String::valueOf).sorted().toList();
  }

  private static String value(Object v) {
    if (v instanceof String s) {
      return "\"" + (s.length() > MAX_QUOTED ? s.substring(0, MAX_QUOTED) + "..." : s) + "\"";
    }
    return String.valueOf(v);
  }

  /** {@code subjects[0]}, {@code config.filter}; empty for the document itself. */
  private static String path(DatabindException d) {
    if (!(d instanceof JsonMappingException m)) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : m.getPath()) {
      if (r.getFieldName() != null) {
        b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  private static String currentField(InputCoercionException c) {
    try {
      return c.getProcessor() instanceof JsonParser p && p.currentName() != null
          ? p.currentName()
          : "";
    } catch (java.io.IOException e) {
      return ""; // the field is then not named; the rest of the message stands
    }
  }

  private static String field(String path) {
    return path.isEmpty() ? "the value" : "field \"" + path + "\"";
  }

  /** A Java type as a JSON writer knows it. */
  static String kind(Class<?> t) {
    if (t == null) {
      return "of another type";
    }
    if (t == String.class || t == char.class || t == Character.class) {
      return "a string";
    }
    if (t == boolean.class || t == Boolean.class) {
      return "true or false";
    }
    if (t == int.class || t == Integer.class) {
      return "a whole number from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE;
    }
    if (t == long.class || t == Long.class) {
      return "a whole number from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE;
    }
    if (t == short.class || t == byte.class || t == BigInteger.class) {
      return "a whole number";
    }
    if (t == double.class
        || t == float.class
        || t == Double.class
        || t == Float.class
        || t == BigDecimal.class) {
      return "a number";
    }
    if (t.isEnum()) {
      return "one of "
          + Arrays.stream(t.getEnumConstants())
              .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT))
              .collect(Collectors.joining(", "));
    }
    if (t.isArray() || Collection.class.isAssignableFrom(t)) {
      return "an array";
    }
    if (Map.class.isAssignableFrom(t) || t.isRecord()) {
      return "an object";
    }
    return "of another type";
  }
}
