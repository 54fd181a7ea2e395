package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.Map;

/**
 * A content header frame's payload: class id, weight (0), body size, and basic's 14 properties,
 * each present or null, in flag-bit order from bit 15 down: content-type, content-encoding,
 * headers, delivery-mode, priority, correlation-id, reply-to, expiration, message-id, timestamp,
 * type, user-id, app-id, cluster-id.
 */
record ContentHeader(int classId, long bodySize, Object[] properties) {
  static final int CONTENT_TYPE = 0;
  static final int CONTENT_ENCODING = 1;
  static final int HEADERS = 2;
  static final int DELIVERY_MODE = 3;
  static final int PRIORITY = 4;
  static final int CORRELATION_ID = 5;
  static final int REPLY_TO = 6;
  static final int EXPIRATION = 7;
  static final int MESSAGE_ID = 8;
  static final int TIMESTAMP = 9;
  static final int TYPE = 10;
  static final int USER_ID = 11;
  static final int APP_ID = 12;
  static final int CLUSTER_ID = 13;

  static final String[] NAMES = {
    "content-type",
    "content-encoding",
    "headers",
    "delivery-mode",
    "priority",
    "correlation-id",
    "reply-to",
    "expiration",
    "message-id",
    "timestamp",
    "type",
    "user-id",
    "app-id",
    "cluster-id"
  };

  /** Types as in {@link AmqpMethods}: n short string, T table, o octet, t timestamp. */
  private static final String TYPES = "nnToonnnntnnnn";

  ContentHeader {
    if (properties.length != TYPES.length()) {
      throw new IllegalArgumentException("basic has " + TYPES.length() + " properties");
    }
  }

  static ContentHeader basic(long bodySize, Object[] properties) {
    return new ContentHeader(60, bodySize, properties);
  }

  String string(int i) {
    return (String) properties[i];
  }

  @SuppressWarnings("unchecked")
  Map<String, Object> headers() {
    return (Map<String, Object>) properties[HEADERS];
  }

  static ContentHeader read(ByteBuf in) {
    if (in.readableBytes() < 14) {
      throw AmqpTypes.syntax("content header of " + in.readableBytes() + " bytes");
    }
    int classId = in.readUnsignedShort();
    in.readUnsignedShort(); // weight, unused
    long bodySize = in.readLong();
    if (bodySize < 0) {
      throw AmqpTypes.syntax("content header body size " + bodySize);
    }
    int flags = in.readUnsignedShort();
    if ((flags & 1) != 0) {
      throw AmqpTypes.syntax("content header with a continued property flags word");
    }
    if ((flags & 0b11) != 0) {
      throw AmqpTypes.syntax("content header sets reserved property flag bits");
    }
    if (classId != 60) {
      throw AmqpException.connection(
          AmqpException.FRAME_ERROR, "content header of class " + classId + ", not basic (60)");
    }
    Object[] props = new Object[TYPES.length()];
    for (int i = 0; i < TYPES.length(); i++) {
      if ((flags & (1 << (15 - i))) == 0) {
        continue;
      }
      props[i] =
          switch (TYPES.charAt(i)) {
            case 'n' -> AmqpTypes.readShortString(in);
            case 'T' -> AmqpTypes.readTable(in);
            case 'o' -> {
              need(in, 1);
              yield (int) in.readUnsignedByte();
            }
            case 't' -> {
              need(in, 8);
              yield in.readLong();
            }
            default -> throw new IllegalStateException();
          };
    }
    if (in.isReadable()) {
      throw AmqpTypes.syntax("content header has " + in.readableBytes() + " bytes left over");
    }
    return new ContentHeader(classId, bodySize, props);
  }

  private static void need(ByteBuf in, int n) {
    if (in.readableBytes() < n) {
      throw AmqpTypes.syntax("content header properties run past the end of the frame");
    }
  }

  void write(ByteBuf out) {
    out.writeShort(classId);
    out.writeShort(0);
    out.writeLong(bodySize);
    int flags = 0;
    for (int i = 0; i < properties.length; i++) {
      if (properties[i] != null) {
        flags |= 1 << (15 - i);
      }
    }
    out.writeShort(flags);
    for (int i = 0; i < properties.length; i++) {
      Object v = properties[i];
      if (v == null) {
        continue;
      }
      switch (TYPES.charAt(i)) {
        case 'n' -> AmqpTypes.writeShortString(out, (String) v);
        case 'T' -> AmqpTypes.writeTable(out, headersOf(v));
        case 'o' -> out.writeByte(((Number) v).intValue());
        case 't' -> out.writeLong(((Number) v).longValue());
        default -> throw new IllegalStateException();
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> headersOf(Object v) {
    return (Map<String, Object>) v;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ContentHeader h
        && classId == h.classId
        && bodySize == h.bodySize
        && Arrays.deepEquals(properties, h.properties);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(bodySize);
  }
}
