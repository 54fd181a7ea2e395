package io.switchboard.http;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One request as the routes see it: method, decoded path, path parameters, query, headers and the
 * body copied out of Netty's buffer (so the request is released at once and nothing here refers to
 * pooled memory). Confined to one request; the arrays are never changed.
 *
 * @param method the request method
 * @param path the path as sent (still percent-encoded), without the query; the router decodes each
 *     segment, so an encoded {@code /} stays inside its segment
 * @param params path parameters by template name
 * @param notUtf8 parameters whose segment is not UTF-8 once percent-decoded (kept as sent)
 * @param query query parameters
 * @param headers the request headers (Netty's, read-only use)
 * @param body the body bytes, never null
 * @param access who asks, and the decision point ({@link HttpAccess}); allow-all until the request
 *     is authenticated
 * @param loop the connection's event loop: the executor broker futures complete on (the broker's
 *     {@code completeOn} overloads and {@code offload}), so no route code runs on a partition
 *     runner, a flusher or a broker executor thread
 */
record Exchange(
    HttpMethod method,
    String path,
    Map<String, String> params,
    Set<String> notUtf8,
    Map<String, List<String>> query,
    HttpHeaders headers,
    byte[] body,
    io.switchboard.spi.security.Access access,
    java.util.concurrent.Executor loop) {

  /**
   * Copies what the routes need out of {@code request}; borrows it (the caller releases it).
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_MALFORMED_REQUEST} for a bad URI
   */
  static Exchange of(FullHttpRequest request, java.util.concurrent.Executor loop) {
    QueryStringDecoder uri = new QueryStringDecoder(request.uri(), StandardCharsets.UTF_8);
    Map<String, List<String>> query;
    try {
      query = uri.parameters();
    } catch (IllegalArgumentException e) {
      // Netty's message quotes its own parser state; the rule broken is the same every time.
      throw SwitchboardException.of(
          ErrorCode.HTTP_MALFORMED_REQUEST,
          "bad escape in the query: a % must be followed by two hex digits");
    }
    byte[] body = new byte[request.content().readableBytes()];
    request.content().getBytes(request.content().readerIndex(), body);
    return new Exchange(
        request.method(),
        uri.rawPath(),
        Map.of(),
        Set.of(),
        query,
        request.headers(),
        body,
        io.switchboard.spi.security.Access.allowAll(),
        loop);
  }

  /** The same request with the path parameters a route matched. */
  Exchange withParams(Router.Match<?> matched) {
    return new Exchange(
        method,
        path,
        Map.copyOf(matched.params()),
        matched.notUtf8(),
        query,
        headers,
        body,
        access,
        loop);
  }

  /** The same request, authenticated. */
  Exchange withAccess(io.switchboard.spi.security.Access a) {
    return new Exchange(method, path, params, notUtf8, query, headers, body, a, loop);
  }

  /**
   * A path parameter, percent-decoded.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_SUBJECT} for a {@code subject}, {@link
   *     ErrorCode#INVALID_PATTERN} for a {@code pattern}, else {@link ErrorCode#INVALID_ARGUMENT},
   *     when its bytes are not UTF-8 (as the native protocol refuses such a subject)
   */
  String param(String name) {
    String v = params.get(name);
    if (notUtf8.contains(name)) {
      String why = "not valid UTF-8 once percent-decoded";
      throw switch (name) {
        case "subject" -> SwitchboardException.of(ErrorCode.INVALID_SUBJECT, v, why);
        case "pattern" -> SwitchboardException.of(ErrorCode.INVALID_PATTERN, v, why);
        default ->
            SwitchboardException.of(
                ErrorCode.INVALID_ARGUMENT, "path segment " + name + " \"" + v + "\" is " + why);
      };
    }
    return v;
  }

  /** A query parameter's first value, or {@code fallback}. */
  String query(String name, String fallback) {
    List<String> v = query.get(name);
    return v == null || v.isEmpty() ? fallback : v.getFirst();
  }

  /**
   * A whole-number query parameter in {@code [min, max]}, or {@code fallback} when absent.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} naming the parameter
   */
  long queryLong(String name, long fallback, long min, long max) {
    String text = query(name, null);
    if (text == null) {
      return fallback;
    }
    long v;
    try {
      v = Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "query parameter " + name + "=" + text + " is not a number");
    }
    if (v < min || v > max) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "query parameter " + name + "=" + v + " is not in [" + min + ", " + max + "]");
    }
    return v;
  }

  /**
   * A whole-number header in {@code [min, max]}, or null when absent.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} naming the header
   */
  Long headerLong(String name, long min, long max) {
    String text = headers.get(name);
    if (text == null) {
      return null;
    }
    long v;
    try {
      v = Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "header " + name + ": \"" + text + "\" is not a whole number");
    }
    if (v < min || v > max) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "header " + name + ": " + v + " is not in [" + min + ", " + max + "]");
    }
    return v;
  }
}
