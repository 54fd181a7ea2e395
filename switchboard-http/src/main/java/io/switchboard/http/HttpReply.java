package io.switchboard.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A response before it becomes Netty objects: status, media type, body and extra headers. Built on
 * any thread, turned into a {@code FullHttpResponse} on the connection's event loop. Immutable once
 * built (the body array is not copied and must not be changed).
 *
 * @param status the HTTP status
 * @param contentType the media type, or null without a body
 * @param body the body, never null (may be empty)
 * @param headers extra response headers, in order
 */
record HttpReply(int status, String contentType, byte[] body, Map<String, String> headers) {

  static final String JSON = "application/json";

  HttpReply {
    headers = Map.copyOf(headers);
  }

  /** A JSON body: {@code value} written with the admin mapper (lower-case enums). */
  static HttpReply json(int status, Object value) {
    return new HttpReply(status, JSON, AdminJson.write(value), Map.of());
  }

  /** 204, no body. */
  static HttpReply noContent() {
    return new HttpReply(204, null, new byte[0], Map.of());
  }

  /** The problem document of {@code e} with its status (and Retry-After when it is a back-off). */
  static HttpReply problem(SwitchboardException e, String instance) {
    ObjectNode doc = HttpErrors.problem(e, instance);
    Map<String, String> headers = new LinkedHashMap<>();
    if (HttpErrors.retryAfter(e.code())) {
      headers.put("Retry-After", Long.toString(HttpErrors.retryAfterSeconds(e)));
    }
    return new HttpReply(
        HttpErrors.status(e.code()), HttpErrors.PROBLEM_JSON, AdminJson.write(doc), headers);
  }

  /** A copy with one more header. */
  HttpReply withHeader(String name, String value) {
    Map<String, String> more = new LinkedHashMap<>(headers);
    more.put(name, value);
    return new HttpReply(status, contentType, body, more);
  }
}
