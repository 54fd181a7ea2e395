package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AMQP's domain types on a {@link ByteBuf}: short and long strings, and field tables and arrays
 * with RabbitMQ's type letters (the 0-9-1 errata): {@code t} boolean, {@code b} int8, {@code B}
 * uint8, {@code s} int16, {@code u} uint16, {@code I} int32, {@code i} uint32, {@code l} int64,
 * {@code f} float, {@code d} double, {@code D} decimal, {@code S} long string, {@code x} byte
 * array, {@code A} array, {@code T} timestamp, {@code F} table, {@code V} void. Long strings read
 * as {@link String} (UTF-8), byte arrays as {@code byte[]}, timestamps as {@link Date}. Malformed
 * input is a {@link AmqpException#SYNTAX_ERROR}.
 */
final class AmqpTypes {
  /**
   * Nesting of tables and arrays accepted: deeper is refused, so a hostile frame cannot blow the
   * stack.
   */
  static final int MAX_DEPTH = 16;

  private AmqpTypes() {}

  static AmqpException syntax(String problem) {
    return AmqpException.connection(AmqpException.SYNTAX_ERROR, problem);
  }

  private static void need(ByteBuf in, long n, String what) {
    if (in.readableBytes() < n) {
      throw syntax(what + " runs past the end of its frame");
    }
  }

  static String readShortString(ByteBuf in) {
    need(in, 1, "short string");
    int len = in.readUnsignedByte();
    need(in, len, "short string");
    String s = in.toString(in.readerIndex(), len, StandardCharsets.UTF_8);
    in.skipBytes(len);
    return s;
  }

  static void writeShortString(ByteBuf out, String s) {
    byte[] b = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    if (b.length > 255) {
      throw new IllegalArgumentException("short string longer than 255 bytes: " + b.length);
    }
    out.writeByte(b.length);
    out.writeBytes(b);
  }

  static byte[] readLongBytes(ByteBuf in) {
    need(in, 4, "long string");
    long len = in.readUnsignedInt();
    need(in, len, "long string");
    byte[] b = new byte[(int) len];
    in.readBytes(b);
    return b;
  }

  static String readLongString(ByteBuf in) {
    return new String(readLongBytes(in), StandardCharsets.UTF_8);
  }

  static void writeLongString(ByteBuf out, String s) {
    writeLongBytes(out, (s == null ? "" : s).getBytes(StandardCharsets.UTF_8));
  }

  static void writeLongBytes(ByteBuf out, byte[] b) {
    out.writeInt(b.length);
    out.writeBytes(b);
  }

  static Map<String, Object> readTable(ByteBuf in) {
    return readTable(in, 0);
  }

  private static Map<String, Object> readTable(ByteBuf in, int depth) {
    if (depth > MAX_DEPTH) {
      throw syntax("field tables nested deeper than " + MAX_DEPTH);
    }
    need(in, 4, "field table");
    long len = in.readUnsignedInt();
    need(in, len, "field table");
    ByteBuf table = in.readSlice((int) len);
    Map<String, Object> out = new LinkedHashMap<>();
    while (table.isReadable()) {
      String name = readShortString(table);
      out.put(name, readValue(table, depth));
    }
    return out;
  }

  private static List<Object> readArray(ByteBuf in, int depth) {
    if (depth > MAX_DEPTH) {
      throw syntax("field arrays nested deeper than " + MAX_DEPTH);
    }
    need(in, 4, "field array");
    long len = in.readUnsignedInt();
    need(in, len, "field array");
    ByteBuf array = in.readSlice((int) len);
    List<Object> out = new ArrayList<>();
    while (array.isReadable()) {
      out.add(readValue(array, depth));
    }
    return out;
  }

  private static Object readValue(ByteBuf in, int depth) {
    need(in, 1, "field value");
    char type = (char) in.readUnsignedByte();
    return switch (type) {
      case 't' -> {
        need(in, 1, "boolean");
        yield in.readUnsignedByte() != 0;
      }
      case 'b' -> {
        need(in, 1, "int8");
        yield in.readByte();
      }
      case 'B' -> {
        need(in, 1, "uint8");
        yield in.readUnsignedByte();
      }
      case 's' -> {
        need(in, 2, "int16");
        yield in.readShort();
      }
      case 'u' -> {
        need(in, 2, "uint16");
        yield in.readUnsignedShort();
      }
      case 'I' -> {
        need(in, 4, "int32");
        yield in.readInt();
      }
      case 'i' -> {
        need(in, 4, "uint32");
        yield in.readUnsignedInt();
      }
      case 'l' -> {
        need(in, 8, "int64");
        yield in.readLong();
      }
      case 'f' -> {
        need(in, 4, "float");
        yield in.readFloat();
      }
      case 'd' -> {
        need(in, 8, "double");
        yield in.readDouble();
      }
      case 'D' -> {
        need(in, 5, "decimal");
        int scale = in.readUnsignedByte();
        yield new BigDecimal(BigInteger.valueOf(in.readInt()), scale);
      }
      case 'S' -> readLongString(in);
      case 'x' -> readLongBytes(in);
      case 'A' -> readArray(in, depth + 1);
      case 'T' -> {
        need(in, 8, "timestamp");
        yield new Date(in.readLong() * 1000);
      }
      case 'F' -> readTable(in, depth + 1);
      case 'V' -> Void.TYPE;
      default -> throw syntax("unknown field type '" + printable(type) + "'");
    };
  }

  private static String printable(char c) {
    return c >= 0x21 && c < 0x7f ? String.valueOf(c) : "0x" + Integer.toHexString(c);
  }

  static void writeTable(ByteBuf out, Map<String, ?> table) {
    int lenAt = out.writerIndex();
    out.writeInt(0);
    if (table != null) {
      for (Map.Entry<String, ?> e : table.entrySet()) {
        writeShortString(out, e.getKey());
        writeValue(out, e.getValue());
      }
    }
    out.setInt(lenAt, out.writerIndex() - lenAt - 4);
  }

  @SuppressWarnings("unchecked")
  private static void writeValue(ByteBuf out, Object v) {
    switch (v) {
      case null -> out.writeByte('V');
      case Boolean b -> {
        out.writeByte('t');
        out.writeByte(b ? 1 : 0);
      }
      case Byte b -> {
        out.writeByte('b');
        out.writeByte(b);
      }
      case Short s -> {
        out.writeByte('s');
        out.writeShort(s);
      }
      case Integer i -> {
        out.writeByte('I');
        out.writeInt(i);
      }
      case Long l -> {
        out.writeByte('l');
        out.writeLong(l);
      }
      case Float f -> {
        out.writeByte('f');
        out.writeFloat(f);
      }
      case Double d -> {
        out.writeByte('d');
        out.writeDouble(d);
      }
      case BigDecimal d -> {
        out.writeByte('D');
        out.writeByte(d.scale());
        out.writeInt(d.unscaledValue().intValueExact());
      }
      case String s -> {
        out.writeByte('S');
        writeLongString(out, s);
      }
      case byte[] b -> {
        out.writeByte('x');
        writeLongBytes(out, b);
      }
      case Date d -> {
        out.writeByte('T');
        out.writeLong(d.getTime() / 1000);
      }
      case Map<?, ?> m -> {
        out.writeByte('F');
        writeTable(out, (Map<String, ?>) m);
      }
      case List<?> list -> {
        out.writeByte('A');
        int lenAt = out.writerIndex();
        out.writeInt(0);
        for (Object o : list) {
          writeValue(out, o);
        }
        out.setInt(lenAt, out.writerIndex() - lenAt - 4);
      }
      default -> {
        if (v == Void.TYPE) {
          out.writeByte('V');
        } else {
          out.writeByte('S');
          writeLongString(out, v.toString());
        }
      }
    }
  }
}
