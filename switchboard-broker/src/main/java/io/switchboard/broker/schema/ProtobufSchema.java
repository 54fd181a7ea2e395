package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A Protobuf schema given as {@code .proto} source (proto2 or proto3, one file, no imports but
 * Google's well-known types): parsed here into messages, fields and enums; compatibility by the
 * rules Confluent documents for Protobuf; payloads checked by walking the wire format against the
 * message's fields. Immutable and thread-safe.
 *
 * <p>Compatibility (the same in both directions, as Confluent's): incompatible are a changed {@code
 * syntax} or {@code package}, a removed message, a field whose number stays but whose kind (scalar,
 * message, enum), scalar type (outside the wire-compatible groups {int32, uint32, int64, uint64,
 * bool}, {sint32, sint64}, {string, bytes}, {fixed32, sfixed32}, {fixed64, sfixed64}) or named type
 * changes, a numeric field that changes between repeated and singular, a field taken out of a oneof
 * or several moved into one, and a proto2 {@code required} field added or removed. Adding and
 * removing other fields, messages and enum constants is compatible.
 *
 * <p>Payloads: with Confluent's framing the value starts with the message indexes (a zig-zag varint
 * count, then the indexes; a single 0 means the first message); otherwise it is the first message
 * of the file. Every field is checked for a well-formed tag, a wire type its declared type allows,
 * a length inside the value, valid UTF-8 in strings and, recursively, the fields of nested messages
 * of this file. Unknown field numbers are allowed (Protobuf keeps them).
 */
final class ProtobufSchema implements ParsedSchema {
  /** Nesting of messages checked in a payload at most (Protobuf's own default recursion limit). */
  static final int MAX_DEPTH = 100;

  record Field(
      String name, int number, String label, String type, String oneof, boolean map, String kind) {}

  record MessageDef(String name, Map<Integer, Field> fields, List<String> nested) {}

  private final String canonical;
  private final String syntax;
  private final String pkg;
  private final Map<String, MessageDef> messages; // by full name, in order of declaration
  private final Set<String> enums;
  private final List<String> topLevel;

  private ProtobufSchema(
      String canonical,
      String syntax,
      String pkg,
      Map<String, MessageDef> messages,
      Set<String> enums,
      List<String> topLevel) {
    this.canonical = canonical;
    this.syntax = syntax;
    this.pkg = pkg;
    this.messages = messages;
    this.enums = enums;
    this.topLevel = topLevel;
  }

  /**
   * Parses {@code .proto} source.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_INVALID} naming the problem
   */
  static ProtobufSchema parse(String text) {
    try {
      return new ProtoParser(text).parse();
    } catch (IllegalArgumentException e) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_INVALID, "PROTOBUF", e.getMessage());
    }
  }

  static ProtobufSchema of(
      String canonical,
      String syntax,
      String pkg,
      Map<String, MessageDef> messages,
      Set<String> enums,
      List<String> topLevel) {
    return new ProtobufSchema(canonical, syntax, pkg, messages, enums, topLevel);
  }

  @Override
  public SchemaType type() {
    return SchemaType.PROTOBUF;
  }

  @Override
  public String canonical() {
    return canonical;
  }

  // ------------------------------------------------------------------ compatibility

  @Override
  public List<String> cannotRead(ParsedSchema writer) {
    if (!(writer instanceof ProtobufSchema w)) {
      return List.of("a " + writer.type() + " schema cannot be read as Protobuf");
    }
    List<String> why = new ArrayList<>();
    if (!syntax.equals(w.syntax)) {
      why.add("SYNTAX_VERSION_CHANGED: " + w.syntax + " -> " + syntax);
    }
    if (!pkg.equals(w.pkg)) {
      why.add("PACKAGE_CHANGED: \"" + w.pkg + "\" -> \"" + pkg + "\"");
    }
    for (MessageDef old : w.messages.values()) {
      MessageDef now = messages.get(relocate(old.name(), w.pkg));
      if (now == null) {
        why.add("MESSAGE_REMOVED: " + old.name());
        continue;
      }
      compareFields(old, now, w, why);
    }
    return why;
  }

  /** The name a message of the writer's package has in this schema's package. */
  private String relocate(String name, String writerPkg) {
    if (writerPkg.equals(pkg) || writerPkg.isEmpty() && pkg.isEmpty()) {
      return name;
    }
    String local = writerPkg.isEmpty() ? name : name.substring(writerPkg.length() + 1);
    return pkg.isEmpty() ? local : pkg + "." + local;
  }

  private void compareFields(MessageDef old, MessageDef now, ProtobufSchema w, List<String> why) {
    Map<String, Integer> movedIntoOneof = new LinkedHashMap<>();
    for (Field f : old.fields().values()) {
      Field g = now.fields().get(f.number());
      String where = old.name() + "." + f.name() + " (" + f.number() + ")";
      if (g == null) {
        if ("required".equals(f.label())) {
          why.add("REQUIRED_FIELD_REMOVED: " + where);
        }
        continue;
      }
      if (!f.kind().equals(g.kind())) {
        why.add("FIELD_KIND_CHANGED: " + where + " " + f.kind() + " -> " + g.kind());
      } else if (f.kind().equals("scalar")) {
        if (!scalarGroup(f.type()).equals(scalarGroup(g.type()))) {
          why.add("FIELD_SCALAR_KIND_CHANGED: " + where + " " + f.type() + " -> " + g.type());
        }
      } else if (!relocate(f.type(), w.pkg).equals(g.type())) {
        why.add("FIELD_NAMED_TYPE_CHANGED: " + where + " " + f.type() + " -> " + g.type());
      }
      boolean numeric = f.kind().equals("enum") || f.kind().equals("scalar") && isNumeric(f.type());
      if (numeric && "repeated".equals(f.label()) != "repeated".equals(g.label())) {
        why.add("FIELD_NUMERIC_LABEL_CHANGED: " + where);
      }
      if (f.oneof() != null && g.oneof() == null) {
        why.add("ONEOF_FIELD_REMOVED: " + where + " left oneof " + f.oneof());
      }
      if (f.oneof() == null && g.oneof() != null) {
        movedIntoOneof.merge(g.oneof(), 1, Integer::sum);
      }
      if (!"required".equals(f.label()) && "required".equals(g.label())) {
        why.add("REQUIRED_FIELD_ADDED: " + where);
      }
    }
    for (Field g : now.fields().values()) {
      if (!old.fields().containsKey(g.number()) && "required".equals(g.label())) {
        why.add("REQUIRED_FIELD_ADDED: " + now.name() + "." + g.name() + " (" + g.number() + ")");
      }
    }
    movedIntoOneof.forEach(
        (oneof, n) -> {
          if (n > 1) {
            why.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF: " + now.name() + " oneof " + oneof);
          }
        });
  }

  private static String scalarGroup(String type) {
    return switch (type) {
      case "int32", "uint32", "int64", "uint64", "bool" -> "varint";
      case "sint32", "sint64" -> "zigzag";
      case "string", "bytes" -> "bytes";
      case "fixed32", "sfixed32" -> "fixed32";
      case "fixed64", "sfixed64" -> "fixed64";
      default -> type; // float, double: only themselves
    };
  }

  private static boolean isNumeric(String scalar) {
    return !scalar.equals("string") && !scalar.equals("bytes");
  }

  // ------------------------------------------------------------------ payloads

  @Override
  public void validate(byte[] payload, int offset, int length, boolean confluentFraming) {
    Reader r = new Reader(payload, offset, offset + length);
    MessageDef m;
    if (confluentFraming) {
      m = messageByIndexes(r);
    } else {
      if (topLevel.isEmpty()) {
        throw new IllegalArgumentException("the schema declares no message");
      }
      m = messages.get(topLevel.getFirst());
    }
    walk(m, r, r.end, 0);
  }

  private MessageDef messageByIndexes(Reader r) {
    int count = r.zigzag32();
    if (count < 0 || count > MAX_DEPTH) {
      throw new IllegalArgumentException("message index count " + count + " is out of range");
    }
    List<String> level = topLevel;
    MessageDef m = null;
    if (count == 0) {
      if (topLevel.isEmpty()) {
        throw new IllegalArgumentException("the schema declares no message");
      }
      return messages.get(topLevel.getFirst());
    }
    for (int i = 0; i < count; i++) {
      int index = r.zigzag32();
      if (index < 0 || index >= level.size()) {
        throw new IllegalArgumentException("message index " + index + " names no message");
      }
      m = messages.get(level.get(index));
      level = m.nested();
    }
    return m;
  }

  private void walk(MessageDef m, Reader r, int end, int depth) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("messages nested deeper than " + MAX_DEPTH);
    }
    while (r.pos < end) {
      long tag = r.varint(end);
      int number = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (number <= 0 || tag >>> 3 > 0x1fffffff) {
        throw new IllegalArgumentException("field number " + (tag >>> 3) + " at byte " + r.pos);
      }
      Field f = m.fields().get(number);
      if (f != null && !allows(f, wire)) {
        throw new IllegalArgumentException(
            m.name() + "." + f.name() + " (" + f.type() + ") cannot have wire type " + wire);
      }
      switch (wire) {
        case 0 -> r.varint(end);
        case 1 -> r.skip(8, end);
        case 5 -> r.skip(4, end);
        case 2 -> {
          long len = r.varint(end);
          if (len < 0 || len > end - r.pos) {
            throw new IllegalArgumentException("a length of " + len + " runs past the value");
          }
          int start = r.pos;
          int stop = start + (int) len;
          if (f != null
              && f.kind().equals("message")
              && !f.map()
              && messages.containsKey(f.type())) {
            walk(messages.get(f.type()), r, stop, depth + 1);
          } else if (f != null && f.kind().equals("scalar") && f.type().equals("string")) {
            utf8(r.bytes, start, (int) len, m.name() + "." + f.name());
          }
          r.pos = stop;
        }
        default ->
            throw new IllegalArgumentException(
                "wire type " + wire + " (groups are not supported) at byte " + r.pos);
      }
    }
    if (r.pos != end) {
      throw new IllegalArgumentException("a field runs past the end of its message");
    }
  }

  private static boolean allows(Field f, int wire) {
    if (f.map() || f.kind().equals("message")) {
      return wire == 2;
    }
    int natural =
        f.kind().equals("enum")
            ? 0
            : switch (f.type()) {
              case "fixed64", "sfixed64", "double" -> 1;
              case "fixed32", "sfixed32", "float" -> 5;
              case "string", "bytes" -> 2;
              default -> 0;
            };
    // A repeated numeric field may come packed (one length-delimited run).
    return wire == natural || ("repeated".equals(f.label()) && wire == 2);
  }

  private static void utf8(byte[] b, int off, int len, String field) {
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b, off, len));
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(field + " is not valid UTF-8");
    }
  }

  /** A cursor over the payload. */
  private static final class Reader {
    final byte[] bytes;
    final int end;
    int pos;

    Reader(byte[] bytes, int pos, int end) {
      this.bytes = bytes;
      this.pos = pos;
      this.end = end;
    }

    long varint(int limit) {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= limit) {
          throw new IllegalArgumentException("a varint runs past the value");
        }
        byte b = bytes[pos++];
        v |= (long) (b & 0x7f) << shift;
        if (b >= 0) {
          return v;
        }
      }
      throw new IllegalArgumentException("a varint longer than 10 bytes");
    }

    int zigzag32() {
      long v = varint(end);
      return (int) ((v >>> 1) ^ -(v & 1));
    }

    void skip(int n, int limit) {
      if (limit - pos < n) {
        throw new IllegalArgumentException("a fixed-width field runs past the value");
      }
      pos += n;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ProtobufSchema p && p.canonical.equals(canonical);
  }

  @Override
  public int hashCode() {
    return Objects.hash(canonical);
  }

  /** Enum full names (for the parser's type resolution). */
  Set<String> enums() {
    return enums;
  }
}
