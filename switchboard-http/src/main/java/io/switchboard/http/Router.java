package io.switchboard.http;

import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small router: routes are a method and a path template of literal segments and {@code {name}}
 * parameters, matched segment by segment in the order they were added. Built once, then read-only
 * and thread-safe.
 *
 * @param <T> what a route leads to
 */
final class Router<T> {
  private record Route<T>(HttpMethod method, String template, String[] segments, T target) {}

  /**
   * A route found for a request: its target, path parameters and template. A parameter whose
   * segment is not UTF-8 once percent-decoded is kept as sent (still encoded) and named in {@code
   * notUtf8}, so that the route refuses it in its own terms ({@link Exchange#param}).
   */
  record Match<T>(T target, Map<String, String> params, String template, Set<String> notUtf8) {}

  /** A route as added: method and template. */
  record Template(HttpMethod method, String template) {}

  private final List<Route<T>> routes = new ArrayList<>();

  /** Adds a route; {@code template} like {@code /v1/streams/{name}}. */
  Router<T> add(HttpMethod method, String template, T target) {
    String t = template.startsWith("/") ? template.substring(1) : template;
    routes.add(new Route<>(method, template, t.isEmpty() ? new String[0] : t.split("/"), target));
    return this;
  }

  /** Every route's method and template, in the order added. */
  List<Template> templates() {
    return routes.stream().map(r -> new Template(r.method(), r.template())).toList();
  }

  /** The route for {@code method} and {@code path}, or null. */
  Match<T> find(HttpMethod method, String path) {
    Segment[] parts = split(path);
    for (Route<T> r : routes) {
      if (r.method().equals(method)) {
        Map<String, String> params = match(r.segments(), parts);
        if (params != null) {
          Set<String> notUtf8 = new LinkedHashSet<>();
          for (int i = 0; i < parts.length; i++) {
            if (parts[i].decoded() == null) {
              notUtf8.add(name(r.segments()[i]));
            }
          }
          return new Match<>(r.target(), params, r.template(), Set.copyOf(notUtf8));
        }
      }
    }
    return null;
  }

  /** The methods some route accepts for {@code path}, for 405's Allow header. */
  Set<String> allowed(String path) {
    Segment[] parts = split(path);
    Set<String> out = new LinkedHashSet<>();
    for (Route<T> r : routes) {
      if (match(r.segments(), parts) != null) {
        out.add(r.method().name());
      }
    }
    return out;
  }

  private static Map<String, String> match(String[] template, Segment[] parts) {
    if (template.length != parts.length) {
      return null;
    }
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < template.length; i++) {
      String t = template[i];
      Segment part = parts[i];
      if (isParameter(t)) {
        if (part.raw().isEmpty()) {
          return null;
        }
        params.put(name(t), part.decoded() != null ? part.decoded() : part.raw());
      } else if (!t.equals(part.decoded())) {
        return null;
      }
    }
    return params;
  }

  private static boolean isParameter(String templateSegment) {
    return templateSegment.startsWith("{") && templateSegment.endsWith("}");
  }

  private static String name(String parameter) {
    return parameter.substring(1, parameter.length() - 1);
  }

  /** A path segment as sent, and percent-decoded (null when the bytes are not UTF-8). */
  private record Segment(String raw, String decoded) {}

  /**
   * The path's segments, each percent-decoded after splitting (so an encoded {@code /} stays in its
   * segment). In a path {@code +} is itself (RFC 3986), not the form encoding's space. Decoded
   * bytes must be UTF-8: Netty's decoder would put U+FFFD in their place and a subject would
   * silently become another; such a segment is marked for the route to refuse.
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_MALFORMED_REQUEST} for a bad escape
   */
  private static Segment[] split(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    if (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    String[] parts = p.isEmpty() ? new String[0] : p.split("/", -1);
    Segment[] out = new Segment[parts.length];
    for (int i = 0; i < parts.length; i++) {
      out[i] = new Segment(parts[i], decode(parts[i]));
    }
    return out;
  }

  /** An ASCII hex digit's value, else -1 ({@link Character#digit} takes other scripts' digits). */
  private static int hex(char c) {
    return c >= '0' && c <= '9'
        ? c - '0'
        : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  }

  /** {@code raw} percent-decoded, or null when the bytes are not UTF-8. */
  private static String decode(String raw) {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    byte[] bytes = new byte[raw.length()];
    int n = 0;
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c != '%') {
        if (c > 0x7f) {
          return null; // not sent by a conforming client; Netty read the line as ISO-8859-1
        }
        bytes[n++] = (byte) c;
        continue;
      }
      int hi = i + 2 < raw.length() ? hex(raw.charAt(i + 1)) : -1;
      int lo = hi >= 0 ? hex(raw.charAt(i + 2)) : -1;
      if (lo < 0) {
        throw SwitchboardException.of(
            ErrorCode.HTTP_MALFORMED_REQUEST,
            "bad escape in path segment \"" + raw + "\": a % must be followed by two hex digits");
      }
      bytes[n++] = (byte) (hi << 4 | lo);
      i += 2;
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, 0, n))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
