package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.trace.Tracing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Messages as JSON, both ways (docs/http.md, "Messages as JSON"). A payload is carried in exactly
 * one of {@code json} (a JSON value: the payload is its compact text), {@code text} (UTF-8) or
 * {@code base64} (any bytes). Going out, a payload whose {@code content-type} header says JSON and
 * that parses is {@code json}, else UTF-8 without control characters (but tab and line breaks) is
 * {@code text}, else {@code base64}. Stateless, thread-safe.
 */
final class MessageJson {
  private MessageJson() {}

  /** The header that keeps the Content-Type a message was published with. */
  static final String CONTENT_TYPE_HEADER = "content-type";

  /** A delivery's id for acks: {@code partition:offset:deliveryCount}. */
  static String deliveryId(int partition, long offset, int deliveryCount) {
    return partition + ":" + offset + ":" + deliveryCount;
  }

  /** A delivery id taken apart. */
  record DeliveryId(int partition, long offset, int deliveryCount) {}

  /**
   * Parses {@code partition:offset:deliveryCount}.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT}
   */
  static DeliveryId parseDeliveryId(String id) {
    String[] p = id == null ? new String[0] : id.split(":", -1);
    try {
      if (p.length == 3) {
        return new DeliveryId(Integer.parseInt(p[0]), Long.parseLong(p[1]), Integer.parseInt(p[2]));
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw SwitchboardException.of(
        ErrorCode.INVALID_ARGUMENT,
        "message id \"" + id + "\" is not partition:offset:deliveryCount");
  }

  /**
   * A delivery to a consumer (SSE, WebSocket, fetch) with its {@code deliver} span: the message
   * shown carries the span's context ({@link Tracing#OFF}: the stored message as it is).
   */
  static ObjectNode delivery(Delivery d, Tracing tracing, String consumer) {
    return delivery(d, tracing.deliver(MessagingRoutes.PROTOCOL, d.message(), consumer));
  }

  private static ObjectNode delivery(Delivery d, Message message) {
    ObjectNode n = AdminJson.JSON.createObjectNode();
    n.put("id", deliveryId(d.partition(), d.offset(), d.deliveryCount()));
    n.put("stream", d.stream());
    n.put("partition", d.partition());
    n.put("offset", d.offset());
    n.put("deliveryCount", d.deliveryCount());
    body(n, message);
    return n;
  }

  static ObjectNode stored(StoredMessage s) {
    ObjectNode n = AdminJson.JSON.createObjectNode();
    n.put("stream", s.stream());
    n.put("partition", s.partition());
    n.put("offset", s.offset());
    body(n, s.message());
    return n;
  }

  static ObjectNode live(Message m) {
    ObjectNode n = AdminJson.JSON.createObjectNode();
    body(n, m);
    return n;
  }

  private static void body(ObjectNode n, Message m) {
    n.put("subject", m.subject());
    n.put("timestampMs", m.timestampMs());
    if (m.key() != null) {
      n.put("key", textOrBase64(m.key()));
    }
    if (m.replyTo() != null) {
      n.put("replyTo", m.replyTo());
    }
    ObjectNode headers = n.putObject("headers");
    for (Header h : m.headers()) {
      if (!headers.has(h.key())) { // a repeated name keeps its first value
        headers.put(h.key(), h.value() == null ? "" : textOrBase64(h.value()));
      }
    }
    payload(n, m.payload(), m.header(CONTENT_TYPE_HEADER));
  }

  private static void payload(ObjectNode n, byte[] payload, byte[] contentType) {
    if (contentType != null && isJson(new String(contentType, StandardCharsets.UTF_8))) {
      try {
        JsonNode v = AdminJson.JSON.readTree(payload);
        if (v != null && !v.isMissingNode()) {
          n.set("json", v);
          return;
        }
      } catch (IOException e) {
        // Not JSON after all: carried as text or bytes below.
      }
    }
    String text = utf8(payload);
    if (text != null && readable(text)) {
      n.put("text", text);
    } else {
      n.put("base64", Base64.getEncoder().encodeToString(payload));
    }
  }

  static boolean isJson(String contentType) {
    String ct = contentType.toLowerCase(Locale.ROOT);
    int semi = ct.indexOf(';');
    String type = (semi < 0 ? ct : ct.substring(0, semi)).trim();
    return type.equals("application/json") || type.endsWith("+json");
  }

  /** Strict UTF-8 decoding, or null when the bytes are not UTF-8. */
  static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Text without control characters other than tab, line feed and carriage return. */
  static boolean readable(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  private static String textOrBase64(byte[] bytes) {
    String t = utf8(bytes);
    return t != null ? t : "base64:" + Base64.getEncoder().encodeToString(bytes);
  }

  /** One message of a batch publish, as sent. */
  record Envelope(
      String subject,
      byte[] key,
      List<Header> headers,
      byte[] payload,
      String replyTo,
      String messageId) {}

  static final java.util.Set<String> ENVELOPE_FIELDS =
      java.util.Set.of(
          "subject", "key", "headers", "json", "text", "base64", "replyTo", "messageId");

  /**
   * One batch entry: {@code {"subject", "key"?, "headers"?: {name: text}, one of "json" | "text" |
   * "base64", "replyTo"?, "messageId"?}}. A {@code json} payload gets {@code content-type:
   * application/json} and a {@code text} one {@code text/plain; charset=utf-8} unless the headers
   * name one.
   *
   * @param at the entry's index, for messages
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} naming the entry and field
   */
  static Envelope envelope(JsonNode e, int at) {
    return envelope(e, "entry " + at, ENVELOPE_FIELDS);
  }

  /**
   * A message described by {@code e} as a batch entry is, where {@code fields} are the fields it
   * may have (the envelope's, and what the caller reads itself).
   *
   * @param where names {@code e} in messages
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} naming the field
   */
  static Envelope envelope(JsonNode e, String where, java.util.Set<String> fields) {
    if (e == null || !e.isObject()) {
      throw invalid(where + " is not a JSON object");
    }
    List<String> unknown = new ArrayList<>();
    e.fieldNames()
        .forEachRemaining(
            f -> {
              if (!fields.contains(f)) {
                unknown.add(f);
              }
            });
    if (!unknown.isEmpty()) {
      throw invalid(where + ": unknown field(s) " + String.join(", ", unknown));
    }
    String subject = textField(e, "subject", where, true);
    String key = textField(e, "key", where, false);
    List<Header> headers = new ArrayList<>();
    JsonNode h = e.get("headers");
    if (h != null && !h.isNull()) {
      if (!h.isObject()) {
        throw invalid(where + ": field \"headers\" must be an object of strings");
      }
      for (Map.Entry<String, JsonNode> f : h.properties()) {
        if (!f.getValue().isTextual()) {
          throw invalid(where + ": field \"headers." + f.getKey() + "\" must be a string");
        }
        headers.add(
            new Header(
                f.getKey().toLowerCase(Locale.ROOT),
                f.getValue().asText().getBytes(StandardCharsets.UTF_8)));
      }
    }
    int forms = (e.has("json") ? 1 : 0) + (e.has("text") ? 1 : 0) + (e.has("base64") ? 1 : 0);
    if (forms > 1) {
      throw invalid(where + ": give one of json, text, base64");
    }
    byte[] payload = new byte[0];
    String implied = null;
    if (e.has("json")) {
      try {
        payload = AdminJson.JSON.writeValueAsBytes(e.get("json"));
      } catch (IOException x) {
        throw new IllegalStateException("a parsed tree always writes", x);
      }
      implied = "application/json";
    } else if (e.has("text")) {
      payload = textField(e, "text", where, true).getBytes(StandardCharsets.UTF_8);
      implied = "text/plain; charset=utf-8";
    } else if (e.has("base64")) {
      try {
        payload = Base64.getDecoder().decode(textField(e, "base64", where, true));
      } catch (IllegalArgumentException x) {
        // The JDK's message names the offending byte in hex; the rule is what helps.
        throw invalid(where + ": \"base64\" is not base64 (RFC 4648: A-Z a-z 0-9 + /, = padding)");
      }
    }
    if (implied != null && headers.stream().noneMatch(x -> x.key().equals(CONTENT_TYPE_HEADER))) {
      headers.add(new Header(CONTENT_TYPE_HEADER, implied.getBytes(StandardCharsets.UTF_8)));
    }
    return new Envelope(
        subject,
        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
        headers,
        payload,
        textField(e, "replyTo", where, false),
        textField(e, "messageId", where, false));
  }

  private static String textField(JsonNode e, String name, String where, boolean required) {
    JsonNode v = e.get(name);
    if (v == null || v.isNull()) {
      if (required) {
        throw invalid(where + ": needs a string field \"" + name + "\"");
      }
      return null;
    }
    if (!v.isTextual()) {
      throw invalid(where + ": field \"" + name + "\" must be a string");
    }
    return v.asText();
  }

  private static SwitchboardException invalid(String why) {
    return SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, why);
  }
}
