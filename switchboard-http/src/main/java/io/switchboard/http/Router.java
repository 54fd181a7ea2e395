package io.switchboard.http;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
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

  /** A route found for a request: its target, path parameters and template. */
  record Match<T>(T target, Map<String, String> params, String template) {}

  /** A route as added: method and template. */
  record Template(HttpMethod method, String template) {}

  private final List<Route<T>> routes = new ArrayList<>();

  /** Adds a route; {@code template} like {@code /v1/streams/{name}}. */
  Router<T> add(HttpMethod method, String template, T target) {
    routes.add(new Route<>(method, template, split(template), target));
    return this;
  }

  /** Every route's method and template, in the order added. */
  List<Template> templates() {
    return routes.stream().map(r -> new Template(r.method(), r.template())).toList();
  }

  /** The route for {@code method} and {@code path}, or null. */
  Match<T> find(HttpMethod method, String path) {
    String[] parts = split(path);
    for (Route<T> r : routes) {
      if (r.method().equals(method)) {
        Map<String, String> params = match(r.segments(), parts);
        if (params != null) {
          return new Match<>(r.target(), params, r.template());
        }
      }
    }
    return null;
  }

  /** The methods some route accepts for {@code path}, for 405's Allow header. */
  Set<String> allowed(String path) {
    String[] parts = split(path);
    Set<String> out = new LinkedHashSet<>();
    for (Route<T> r : routes) {
      if (match(r.segments(), parts) != null) {
        out.add(r.method().name());
      }
    }
    return out;
  }

  private static Map<String, String> match(String[] template, String[] parts) {
    if (template.length != parts.length) {
      return null;
    }
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < template.length; i++) {
      String t = template[i];
      if (t.startsWith("{") && t.endsWith("}")) {
        if (parts[i].isEmpty()) {
          return null;
        }
        params.put(t.substring(1, t.length() - 1), parts[i]);
      } else if (!t.equals(parts[i])) {
        return null;
      }
    }
    return params;
  }

  /**
   * The path's segments, each percent-decoded after splitting.
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_MALFORMED_REQUEST} for a bad escape
   */
  private static String[] split(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    if (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    String[] parts = p.isEmpty() ? new String[0] : p.split("/", -1);
    for (int i = 0; i < parts.length; i++) {
      try {
        // In a path '+' is itself (RFC 3986), not the form encoding's space.
        parts[i] =
            QueryStringDecoder.decodeComponent(
                parts[i].replace("+", "%2B"), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw SwitchboardException.of(
            ErrorCode.HTTP_MALFORMED_REQUEST, "bad escape in path: " + e.getMessage());
      }
    }
    return parts;
  }
}
