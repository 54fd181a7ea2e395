package io.switchboard.amqp;

import io.netty.buffer.Unpooled;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A headers-exchange binding's test, as RabbitMQ's {@code rabbit_exchange_type_headers}: {@code
 * x-match} is {@code all} (the default), {@code any}, {@code all-with-x} or {@code any-with-x}; the
 * binding's other arguments (without {@code x-}-prefixed ones unless {@code -with-x}) are compared
 * with the message's headers. An argument of type void matches a header's presence; otherwise a
 * header matches when its value is equal and of the same type class (integers of any width compare
 * as integers, float and double as floats). {@code all} with nothing to compare matches every
 * message, {@code any} none.
 */
record HeadersMatch(boolean all, Map<String, Object> wanted) {

  /**
   * The test of binding arguments {@code args}.
   *
   * @throws AmqpException 406 PRECONDITION_FAILED for an {@code x-match} that is not one of the
   *     four, as RabbitMQ's binding validation
   */
  static HeadersMatch of(Map<String, Object> args) {
    Object kind = args.get("x-match");
    String k;
    if (kind == null) {
      k = "all";
    } else if (kind instanceof String s) {
      k = s;
    } else {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED,
          "Invalid x-match field type " + kind.getClass().getSimpleName() + "; expected longstr");
    }
    boolean withX = k.endsWith("-with-x");
    String base = withX ? k.substring(0, k.length() - "-with-x".length()) : k;
    if (!base.equals("all") && !base.equals("any")) {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED,
          "Invalid x-match field value \""
              + k
              + "\"; expected all, any, all-with-x, or any-with-x");
    }
    Map<String, Object> wanted = new LinkedHashMap<>();
    args.forEach(
        (name, v) -> {
          if (!name.equals("x-match") && (withX || !name.startsWith("x-"))) {
            wanted.put(name, v);
          }
        });
    return new HeadersMatch(base.equals("all"), wanted);
  }

  boolean matches(Map<String, Object> headers) {
    boolean allMatch = true;
    boolean anyMatch = false;
    for (Map.Entry<String, Object> e : wanted.entrySet()) {
      Object have = headers.get(e.getKey());
      Object want = e.getValue();
      if (have == null && !headers.containsKey(e.getKey())) {
        allMatch = false;
      } else if (want == Void.TYPE || want == null || same(want, have)) {
        anyMatch = true;
      } else {
        allMatch = false;
      }
      if (all && !allMatch) {
        return false;
      }
      if (!all && anyMatch) {
        return true;
      }
    }
    return all ? allMatch : anyMatch;
  }

  private static boolean same(Object a, Object b) {
    if (isInteger(a) && isInteger(b)) {
      return ((Number) a).longValue() == ((Number) b).longValue();
    }
    if ((a instanceof Float || a instanceof Double)
        && (b instanceof Float || b instanceof Double)) {
      return ((Number) a).doubleValue() == ((Number) b).doubleValue();
    }
    if (a instanceof byte[] x && b instanceof byte[] y) {
      return Arrays.equals(x, y);
    }
    if (a instanceof BigDecimal x && b instanceof BigDecimal y) {
      return x.equals(y);
    }
    if (a instanceof Date x && b instanceof Date y) {
      return x.equals(y);
    }
    return a.getClass() == b.getClass() && Objects.equals(a, b);
  }

  private static boolean isInteger(Object o) {
    return o instanceof Byte || o instanceof Short || o instanceof Integer || o instanceof Long;
  }

  /**
   * The headers a message is matched on: the exact table of an AMQP publish ({@link
   * AmqpMessages#HEADERS_TABLE}), or, for another protocol's message, its headers but {@code sb-*}
   * as strings.
   */
  static Map<String, Object> headersOf(Message m) {
    byte[] table = m.header(AmqpMessages.HEADERS_TABLE);
    if (table != null) {
      try {
        return AmqpTypes.readTable(Unpooled.wrappedBuffer(table));
      } catch (AmqpException e) {
        return Map.of(); // not ours after all: nothing to match
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Header h : m.headers()) {
      if (!h.key().startsWith("sb-") && !h.key().startsWith("amqp-")) {
        out.putIfAbsent(h.key(), new String(h.value(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }
}
