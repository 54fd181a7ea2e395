package io.switchboard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.Reply;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * Prints acknowledgements and messages, human-readable or as one JSON object per line. Payloads,
 * keys and header values that are valid UTF-8 are printed as text; anything else as base64 (JSON
 * fields {@code payloadBase64}, {@code keyBase64}; in human output prefixed with {@code base64:}).
 * Thread-safe as far as {@link PrintWriter} is: each message is printed with one call.
 */
final class Output {
  /** Shared, configured once: thread-safe. */
  static final ObjectMapper JSON = JsonMapper.builder().build();

  private final PrintWriter out;
  private final boolean json;

  Output(PrintWriter out, boolean json) {
    this.out = out;
    this.json = json;
  }

  boolean json() {
    return json;
  }

  /** One publish's acknowledgement. */
  void ack(PubAck a) {
    if (json) {
      ObjectNode n = JSON.createObjectNode();
      n.put("stream", a.stream());
      n.put("partition", a.partition());
      n.put("offset", a.offset());
      n.put("durability", a.durability().name().toLowerCase(Locale.ROOT));
      n.put("duplicate", a.duplicate());
      line(n.toString());
    } else if (a.stream() == null) {
      line("not stored: no stream captures it");
    } else {
      String durability = a.durability().name().toLowerCase(Locale.ROOT);
      String where =
          a.offset() < 0
              ? "held for delayed delivery in stream " + a.stream() + " partition " + a.partition()
              : "stored in stream "
                  + a.stream()
                  + " partition "
                  + a.partition()
                  + " offset "
                  + a.offset();
      line(
          where + " (" + durability + (a.duplicate() ? ", duplicate: not stored again" : "") + ")");
    }
  }

  /** A live message, numbered from 1 in arrival order. */
  void message(long number, LiveMessage m) {
    if (json) {
      ObjectNode n = JSON.createObjectNode();
      n.put("subject", m.subject());
      putMessage(n, m.timestampMs(), m.replyTo(), m.headers(), m.key(), m.payload());
      line(n.toString());
    } else {
      line(
          human(
              "[#" + number + "] " + m.subject(), m.replyTo(), m.headers(), m.key(), m.payload()));
    }
  }

  /** A durable consumer's delivery. */
  void delivery(String stream, String consumer, DeliveryEntry d) {
    if (json) {
      ObjectNode n = JSON.createObjectNode();
      n.put("stream", stream);
      n.put("consumer", consumer);
      n.put("partition", d.partition());
      n.put("offset", d.offset());
      n.put("deliveryCount", d.deliveryCount());
      n.put("subject", d.subject());
      putMessage(n, d.timestampMs(), d.replyTo(), d.headers(), d.key(), d.payload());
      line(n.toString());
    } else {
      String title =
          "["
              + stream
              + "/"
              + consumer
              + " partition "
              + d.partition()
              + " offset "
              + d.offset()
              + " delivery "
              + d.deliveryCount()
              + "] "
              + d.subject();
      line(human(title, d.replyTo(), d.headers(), d.key(), d.payload()));
    }
  }

  /** A request's answer; for humans, its headers (but the correlation id) and payload. */
  void reply(Reply r) {
    if (json) {
      ObjectNode n = JSON.createObjectNode();
      n.set("headers", headers(r.headers()));
      putBytes(n, "payload", r.payload());
      line(n.toString());
    } else {
      StringBuilder b = new StringBuilder();
      for (Header h : r.headers()) {
        if (h.key().equals(Message.CORRELATION_ID)) {
          continue; // plumbing of request/reply, not part of the answer
        }
        b.append(h.key()).append(": ").append(text(h.value())).append('\n');
      }
      line(b.append(text(r.payload())).toString());
    }
  }

  /** Prints {@code s} and a line break, and flushes (output is often piped). */
  void line(String s) {
    out.println(s);
    out.flush();
  }

  private static String human(
      String title, String replyTo, List<Header> headers, byte[] key, byte[] payload) {
    StringBuilder b = new StringBuilder(title);
    if (replyTo != null) {
      b.append(" (reply to ").append(replyTo).append(')');
    }
    if (key != null) {
      b.append(" key ").append(text(key));
    }
    b.append('\n');
    for (Header h : headers) {
      b.append("  ").append(h.key()).append(": ").append(text(h.value())).append('\n');
    }
    b.append(text(payload));
    return b.toString();
  }

  private static void putMessage(
      ObjectNode n,
      long timestampMs,
      String replyTo,
      List<Header> headers,
      byte[] key,
      byte[] payload) {
    n.put("time", Instant.ofEpochMilli(timestampMs).toString());
    n.put("timestampMs", timestampMs);
    if (replyTo != null) {
      n.put("replyTo", replyTo);
    }
    n.set("headers", headers(headers));
    if (key != null) {
      putBytes(n, "key", key);
    }
    putBytes(n, "payload", payload);
  }

  /** Headers as {@code {"name": ["value", ...]}}: names may repeat, so each maps to a list. */
  private static ObjectNode headers(List<Header> headers) {
    ObjectNode n = JSON.createObjectNode();
    for (Header h : headers) {
      ArrayNode values = n.has(h.key()) ? (ArrayNode) n.get(h.key()) : n.putArray(h.key());
      values.add(text(h.value()));
    }
    return n;
  }

  private static void putBytes(ObjectNode n, String field, byte[] bytes) {
    String utf8 = utf8OrNull(bytes);
    if (utf8 != null) {
      n.put(field, utf8);
    } else {
      n.put(field + "Base64", Base64.getEncoder().encodeToString(bytes));
    }
  }

  /** Text for humans: UTF-8 when valid, else {@code base64:...}. */
  static String text(byte[] bytes) {
    String utf8 = utf8OrNull(bytes);
    return utf8 != null ? utf8 : "base64:" + Base64.getEncoder().encodeToString(bytes);
  }

  private static String utf8OrNull(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      // Not text: the callers print it as base64 instead.
      return null;
    }
  }
}
