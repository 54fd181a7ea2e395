package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every method of AMQP 0-9-1 with RabbitMQ's extensions, described once as data: class and method
 * ids, name, and argument types in order (written from the 0-9-1 specification and RabbitMQ's
 * {@code amqp-rabbitmq-0.9.1.json}). One reader and one writer are driven by this table ({@link
 * #read}, {@link #write}). Argument type letters: {@code o} octet, {@code s} short, {@code l} long,
 * {@code L} long long, {@code n} short string, {@code S} long string, {@code b} bit, {@code T}
 * table, {@code t} timestamp. Consecutive bits share octets, lowest bit first.
 */
final class AmqpMethods {
  /** One method's description. */
  record Def(int classId, int methodId, String name, String args, boolean content) {}

  static final List<Def> ALL =
      List.of(
          def(10, 10, "connection.start", "ooTSS"),
          def(10, 11, "connection.start-ok", "TnSn"),
          def(10, 20, "connection.secure", "S"),
          def(10, 21, "connection.secure-ok", "S"),
          def(10, 30, "connection.tune", "sls"),
          def(10, 31, "connection.tune-ok", "sls"),
          def(10, 40, "connection.open", "nnb"),
          def(10, 41, "connection.open-ok", "n"),
          def(10, 50, "connection.close", "snss"),
          def(10, 51, "connection.close-ok", ""),
          def(10, 60, "connection.blocked", "n"),
          def(10, 61, "connection.unblocked", ""),
          def(10, 70, "connection.update-secret", "Sn"),
          def(10, 71, "connection.update-secret-ok", ""),
          def(20, 10, "channel.open", "n"),
          def(20, 11, "channel.open-ok", "S"),
          def(20, 20, "channel.flow", "b"),
          def(20, 21, "channel.flow-ok", "b"),
          def(20, 40, "channel.close", "snss"),
          def(20, 41, "channel.close-ok", ""),
          def(30, 10, "access.request", "nbbbbb"),
          def(30, 11, "access.request-ok", "s"),
          def(40, 10, "exchange.declare", "snnbbbbbT"),
          def(40, 11, "exchange.declare-ok", ""),
          def(40, 20, "exchange.delete", "snbb"),
          def(40, 21, "exchange.delete-ok", ""),
          def(40, 30, "exchange.bind", "snnnbT"),
          def(40, 31, "exchange.bind-ok", ""),
          def(40, 40, "exchange.unbind", "snnnbT"),
          def(40, 51, "exchange.unbind-ok", ""),
          def(50, 10, "queue.declare", "snbbbbbT"),
          def(50, 11, "queue.declare-ok", "nll"),
          def(50, 20, "queue.bind", "snnnbT"),
          def(50, 21, "queue.bind-ok", ""),
          def(50, 30, "queue.purge", "snb"),
          def(50, 31, "queue.purge-ok", "l"),
          def(50, 40, "queue.delete", "snbbb"),
          def(50, 41, "queue.delete-ok", "l"),
          def(50, 50, "queue.unbind", "snnnT"),
          def(50, 51, "queue.unbind-ok", ""),
          def(60, 10, "basic.qos", "lsb"),
          def(60, 11, "basic.qos-ok", ""),
          def(60, 20, "basic.consume", "snnbbbbT"),
          def(60, 21, "basic.consume-ok", "n"),
          def(60, 30, "basic.cancel", "nb"),
          def(60, 31, "basic.cancel-ok", "n"),
          content(60, 40, "basic.publish", "snnbb"),
          content(60, 50, "basic.return", "snnn"),
          content(60, 60, "basic.deliver", "nLbnn"),
          def(60, 70, "basic.get", "snb"),
          content(60, 71, "basic.get-ok", "Lbnnl"),
          def(60, 72, "basic.get-empty", "n"),
          def(60, 80, "basic.ack", "Lb"),
          def(60, 90, "basic.reject", "Lb"),
          def(60, 100, "basic.recover-async", "b"),
          def(60, 110, "basic.recover", "b"),
          def(60, 111, "basic.recover-ok", ""),
          def(60, 120, "basic.nack", "Lbb"),
          def(85, 10, "confirm.select", "b"),
          def(85, 11, "confirm.select-ok", ""),
          def(90, 10, "tx.select", ""),
          def(90, 11, "tx.select-ok", ""),
          def(90, 20, "tx.commit", ""),
          def(90, 21, "tx.commit-ok", ""),
          def(90, 30, "tx.rollback", ""),
          def(90, 31, "tx.rollback-ok", ""));

  private static final Map<Integer, Def> BY_ID = new HashMap<>();
  private static final Map<String, Def> BY_NAME = new HashMap<>();

  static {
    for (Def d : ALL) {
      BY_ID.put(d.classId() << 16 | d.methodId(), d);
      BY_NAME.put(d.name(), d);
    }
  }

  private AmqpMethods() {}

  private static Def def(int c, int m, String name, String args) {
    return new Def(c, m, name, args, false);
  }

  private static Def content(int c, int m, String name, String args) {
    return new Def(c, m, name, args, true);
  }

  static Def byName(String name) {
    Def d = BY_NAME.get(name);
    if (d == null) {
      throw new IllegalArgumentException("no method " + name);
    }
    return d;
  }

  /**
   * Reads a method frame's payload.
   *
   * @throws AmqpException 540 NOT_IMPLEMENTED for an unknown class or method (as RabbitMQ), 502
   *     SYNTAX_ERROR for arguments that do not fit the frame or bytes left over
   */
  static AmqpMethod read(ByteBuf in) {
    if (in.readableBytes() < 4) {
      throw AmqpTypes.syntax("method frame of " + in.readableBytes() + " bytes has no method id");
    }
    int classId = in.readUnsignedShort();
    int methodId = in.readUnsignedShort();
    Def def = BY_ID.get(classId << 16 | methodId);
    if (def == null) {
      throw AmqpException.connection(
          AmqpException.NOT_IMPLEMENTED, "unknown method " + classId + "/" + methodId);
    }
    String types = def.args();
    Object[] args = new Object[types.length()];
    int bits = 0;
    int bitIndex = 8;
    for (int i = 0; i < types.length(); i++) {
      char t = types.charAt(i);
      if (t == 'b') {
        if (bitIndex == 8) {
          need(in, 1, def);
          bits = in.readUnsignedByte();
          bitIndex = 0;
        }
        args[i] = (bits & (1 << bitIndex++)) != 0;
        continue;
      }
      bitIndex = 8;
      args[i] =
          switch (t) {
            case 'o' -> {
              need(in, 1, def);
              yield (int) in.readUnsignedByte();
            }
            case 's' -> {
              need(in, 2, def);
              yield in.readUnsignedShort();
            }
            case 'l' -> {
              need(in, 4, def);
              yield in.readUnsignedInt();
            }
            case 'L', 't' -> {
              need(in, 8, def);
              yield in.readLong();
            }
            case 'n' -> AmqpTypes.readShortString(in);
            case 'S' -> AmqpTypes.readLongBytes(in);
            case 'T' -> AmqpTypes.readTable(in);
            default -> throw new IllegalStateException("type " + t);
          };
    }
    if (in.isReadable()) {
      throw AmqpTypes.syntax(
          def.name() + " has " + in.readableBytes() + " bytes after its last argument");
    }
    return new AmqpMethod(def, args);
  }

  private static void need(ByteBuf in, int n, Def def) {
    if (in.readableBytes() < n) {
      throw AmqpTypes.syntax(def.name() + ": arguments run past the end of the frame");
    }
  }

  /** Writes a method: class id, method id, arguments. */
  static void write(AmqpMethod m, ByteBuf out) {
    Def def = m.def();
    out.writeShort(def.classId());
    out.writeShort(def.methodId());
    String types = def.args();
    int bits = 0;
    int bitIndex = -1;
    for (int i = 0; i < types.length(); i++) {
      char t = types.charAt(i);
      Object v = m.args()[i];
      if (t == 'b') {
        if (bitIndex < 0 || bitIndex == 8) {
          if (bitIndex == 8) {
            out.writeByte(bits);
          }
          bits = 0;
          bitIndex = 0;
        }
        if (Boolean.TRUE.equals(v)) {
          bits |= 1 << bitIndex;
        }
        bitIndex++;
        continue;
      }
      if (bitIndex >= 0) {
        out.writeByte(bits);
        bitIndex = -1;
      }
      switch (t) {
        case 'o' -> out.writeByte(((Number) v).intValue());
        case 's' -> out.writeShort(((Number) v).intValue());
        case 'l' -> out.writeInt((int) ((Number) v).longValue());
        case 'L', 't' -> out.writeLong(((Number) v).longValue());
        case 'n' -> AmqpTypes.writeShortString(out, (String) v);
        case 'S' ->
            AmqpTypes.writeLongBytes(
                out,
                v instanceof String s
                    ? s.getBytes(java.nio.charset.StandardCharsets.UTF_8)
                    : v == null ? new byte[0] : (byte[]) v);
        case 'T' -> AmqpTypes.writeTable(out, castTable(v));
        default -> throw new IllegalStateException("type " + t);
      }
    }
    if (bitIndex >= 0) {
      out.writeByte(bits);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> castTable(Object v) {
    return (Map<String, ?>) v;
  }
}
