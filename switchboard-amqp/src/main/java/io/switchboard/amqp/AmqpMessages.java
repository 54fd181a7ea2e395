package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.switchboard.broker.BindingSpec;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AMQP content (properties and body) to a {@link Message} and back (docs/amqp.md): the properties
 * become headers other protocols read ({@code content-type}, the correlation id in {@link
 * Message#CORRELATION_ID}, reply-to as the message's reply subject, expiration as {@link
 * Message#TTL_HEADER}, the rest as {@code amqp-<property>}); each entry of the headers table
 * becomes a header of its name (strings as UTF-8, other values as text), and the table itself is
 * kept whole in {@code amqp-headers} so an AMQP consumer gets back exactly what was published.
 */
final class AmqpMessages {
  static final String HEADERS_TABLE = "amqp-headers";

  /** W3C trace context headers: {@code traceparent}, {@code tracestate}. */
  static final List<String> TRACE_HEADERS = List.of("traceparent", "tracestate");

  static final String CONTENT_TYPE = "content-type";

  private AmqpMessages() {}

  static Message toMessage(String subject, ContentHeader header, byte[] body, long nowMs) {
    List<Header> headers = new ArrayList<>();
    String replyTo = null;
    Object[] p = header.properties();
    for (int i = 0; i < p.length; i++) {
      Object v = p[i];
      if (v == null) {
        continue;
      }
      switch (i) {
        case ContentHeader.CONTENT_TYPE -> headers.add(header(CONTENT_TYPE, (String) v));
        case ContentHeader.CORRELATION_ID ->
            headers.add(header(Message.CORRELATION_ID, (String) v));
        case ContentHeader.REPLY_TO -> replyTo = (String) v;
        case ContentHeader.EXPIRATION -> {
          headers.add(header("amqp-expiration", (String) v));
          try {
            long ttl = Long.parseLong((String) v);
            if (ttl >= 0) {
              headers.add(header(Message.TTL_HEADER, Long.toString(ttl)));
            }
          } catch (NumberFormatException e) {
            throw AmqpException.channel(
                AmqpException.PRECONDITION_FAILED, "invalid expiration \"" + v + "\"");
          }
        }
        case ContentHeader.HEADERS -> {
          Map<String, Object> table = header.headers();
          ByteBuf buf = Unpooled.buffer();
          try {
            AmqpTypes.writeTable(buf, table);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            headers.add(new Header(HEADERS_TABLE, bytes));
          } finally {
            buf.release();
          }
          for (Map.Entry<String, Object> e : table.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().startsWith("sb-")) {
              continue;
            }
            Object value = e.getValue();
            headers.add(
                new Header(
                    e.getKey(),
                    value instanceof byte[] b
                        ? b
                        : String.valueOf(value).getBytes(StandardCharsets.UTF_8)));
          }
        }
        default -> headers.add(header("amqp-" + ContentHeader.NAMES[i], String.valueOf(v)));
      }
    }
    return new Message(subject, null, headers, body, nowMs, replyTo);
  }

  private static Header header(String name, String value) {
    return new Header(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /** The content header an AMQP consumer gets for {@code m}. */
  static ContentHeader toHeader(Message m) {
    Object[] p = new Object[ContentHeader.NAMES.length];
    Map<String, Object> table = null;
    Map<String, Object> loose = new LinkedHashMap<>();
    for (Header h : m.headers()) {
      String k = h.key();
      String v = h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
      if (k.equals(HEADERS_TABLE)) {
        table = AmqpTypes.readTable(Unpooled.wrappedBuffer(h.value()));
      } else if (k.equals(CONTENT_TYPE)) {
        p[ContentHeader.CONTENT_TYPE] = shortStr(v);
      } else if (k.equals(Message.CORRELATION_ID)) {
        p[ContentHeader.CORRELATION_ID] = shortStr(v);
      } else if (k.startsWith("amqp-")) {
        int i = indexOf(k.substring(5));
        if (i >= 0) {
          p[i] = parse(i, v);
        }
      } else if (!k.startsWith("sb-") && !k.equals(BindingSpec.ORIGINAL_SUBJECT_HEADER)) {
        loose.put(k, v);
      }
    }
    if (m.replyTo() != null) {
      String replyTo = m.replyTo();
      if (replyTo.startsWith(AmqpConnection.REPLY_SUBJECT_PREFIX)) {
        // direct reply-to: the pseudo-queue name a responder publishes to
        replyTo =
            AmqpConnection.DIRECT_REPLY
                + "."
                + replyTo.substring(AmqpConnection.REPLY_SUBJECT_PREFIX.length());
      }
      p[ContentHeader.REPLY_TO] = shortStr(replyTo);
    }
    if (table != null) {
      // The W3C trace context is the message's own (a tracing server hands on its span's), not the
      // one the publisher's table was stored with.
      for (String trace : TRACE_HEADERS) {
        Object v = loose.get(trace);
        if (v != null && !v.equals(table.get(trace))) {
          table = new LinkedHashMap<>(table);
          table.put(trace, v);
        }
      }
      p[ContentHeader.HEADERS] = table;
    } else if (!loose.isEmpty()) {
      p[ContentHeader.HEADERS] = loose;
    }
    return ContentHeader.basic(m.payload().length, p);
  }

  private static int indexOf(String name) {
    for (int i = 0; i < ContentHeader.NAMES.length; i++) {
      if (ContentHeader.NAMES[i].equals(name) && i != ContentHeader.HEADERS) {
        return i;
      }
    }
    return -1;
  }

  private static Object parse(int i, String v) {
    try {
      return switch (i) {
        case ContentHeader.DELIVERY_MODE, ContentHeader.PRIORITY -> Integer.parseInt(v) & 0xff;
        case ContentHeader.TIMESTAMP -> Long.parseLong(v);
        default -> shortStr(v);
      };
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static String shortStr(String v) {
    byte[] b = v.getBytes(StandardCharsets.UTF_8);
    if (b.length <= 255) {
      return v;
    }
    return new String(b, 0, 255, StandardCharsets.UTF_8);
  }
}
