package io.switchboard.spi.config;

import java.util.function.Function;

/**
 * One configuration key: its dotted name, default, documentation and how a text value becomes a
 * typed one. Immutable. Declared once: the server's keys in its catalogue, a front end's in its own
 * module ({@link io.switchboard.spi.FrontEnd#configKeys()}); the reference in {@code
 * docs/configuration.md} is generated from them all. The parsers here ({@link #intIn}, {@link
 * #longIn}, {@link #oneOf}, {@link #nonBlank}) are shared by every module that declares keys.
 *
 * @param name dotted, lower-case, e.g. {@code native.port}
 * @param defaultValue the default as text
 * @param doc one sentence: what it does, and why the default
 * @param parser text to value; throws {@link IllegalArgumentException} with the reason when the
 *     text is not acceptable
 * @param <T> the value's type
 */
public record ConfigKey<T>(
    String name, String defaultValue, String doc, Function<String, T> parser) {

  /** The environment variable that overrides this key: {@code SWITCHBOARD_NATIVE_PORT}. */
  public String envName() {
    return "SWITCHBOARD_"
        + name.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /** An int in {@code [min, max]}. */
  public static Function<String, Integer> intIn(int min, int max) {
    return text -> {
      int v;
      try {
        v = Integer.parseInt(text.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("\"" + text + "\" is not a whole number");
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException(v + " is not in [" + min + ", " + max + "]");
      }
      return v;
    };
  }

  /** A long in {@code [min, max]}. */
  public static Function<String, Long> longIn(long min, long max) {
    return text -> {
      long v;
      try {
        v = Long.parseLong(text.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("\"" + text + "\" is not a whole number");
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException(v + " is not in [" + min + ", " + max + "]");
      }
      return v;
    };
  }

  /** One of the given words. */
  public static Function<String, String> oneOf(String... words) {
    return text -> {
      for (String w : words) {
        if (w.equals(text.trim())) {
          return w;
        }
      }
      throw new IllegalArgumentException(
          "\"" + text + "\" is not one of " + String.join(", ", words));
    };
  }

  /** {@code true} or {@code false}. */
  public static Function<String, Boolean> bool() {
    return text ->
        switch (text.trim()) {
          case "true" -> true;
          case "false" -> false;
          default -> throw new IllegalArgumentException("\"" + text + "\" is not true or false");
        };
  }

  /** Any text, trimmed; empty means "not set". */
  public static Function<String, String> optional() {
    return String::trim;
  }

  /** Any non-blank text. */
  public static Function<String, String> nonBlank() {
    return text -> {
      if (text.isBlank()) {
        throw new IllegalArgumentException("must not be empty");
      }
      return text.trim();
    };
  }
}
