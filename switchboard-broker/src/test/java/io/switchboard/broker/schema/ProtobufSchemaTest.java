package io.switchboard.broker.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.NioStorageIO;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProtobufSchemaTest {
  static final String QUOTE =
      """
      syntax = "proto3";
      package shop.v1;
      // A price quote.
      message Quote {
        string symbol = 1;
        int32 cents = 2;
        Side side = 3;
        repeated int64 history = 4 [packed = true];
        map<string, string> tags = 5;
        Venue venue = 6;
        oneof kind { string note = 7; int32 code = 8; }
        message Venue { string name = 1; }
      }
      enum Side { SIDE_UNSPECIFIED = 0; BUY = 1; SELL = 2; }
      message Ack { bool ok = 1; }
      service Quotes { rpc Get (Quote) returns (Ack); }
      """;

  @TempDir Path dir;

  static ProtobufSchema parse(String text) {
    return ProtobufSchema.parse(text);
  }

  static ErrorCode code(Throwable t) {
    return ((SwitchboardException) t).code();
  }

  /** Encodes fields by hand: (number, wire type, value bytes). */
  static final class Proto {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Proto varint(long v) {
      while ((v & ~0x7fL) != 0) {
        out.write((int) ((v & 0x7f) | 0x80));
        v >>>= 7;
      }
      out.write((int) v);
      return this;
    }

    Proto tag(int number, int wire) {
      return varint(((long) number << 3) | wire);
    }

    Proto bytes(int number, byte[] b) {
      tag(number, 2).varint(b.length);
      out.writeBytes(b);
      return this;
    }

    Proto string(int number, String s) {
      return bytes(number, s.getBytes(StandardCharsets.UTF_8));
    }

    byte[] done() {
      return out.toByteArray();
    }
  }

  @Test
  void shouldParseAndCanonicalizeIgnoringLayoutAndComments() {
    ProtobufSchema a = parse(QUOTE);
    ProtobufSchema b = parse(QUOTE.replace("\n", "\n\n  ").replace("// A price quote.", "/* x */"));
    assertThat(b.canonical()).isEqualTo(a.canonical());
    assertThat(a.canonical()).contains("message Quote {\n  string symbol = 1;\n");
    assertThat(parse(a.canonical()).canonical()).isEqualTo(a.canonical());
  }

  @Test
  void shouldRefuseWhatItCannotParse() {
    for (String bad :
        new String[] {
          "syntax = \"proto4\";",
          "message A { string a = ; }",
          "message A { Missing m = 1; }",
          "import \"other.proto\"; message A { int32 a = 1; }",
          "syntax = \"proto3\"; message A { required int32 a = 1; }",
          "message A { int32 a = 1; int32 b = 1; }",
          "message A { int32 a = 19500; }",
          "message A { int32 a = 1;",
          "message A { int32 a = 1; } message A { int32 b = 1; }",
        }) {
      assertThatThrownBy(() -> parse(bad))
          .as(bad)
          .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INVALID));
    }
    // Google's well-known types may be imported and used.
    parse(
        "syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\";"
            + " message A { google.protobuf.Timestamp at = 1; }");
  }

  @Test
  void shouldFollowConfluentsCompatibilityRules() {
    ProtobufSchema v1 = parse(QUOTE);
    // Adding and removing plain fields, and widening int32 to int64, are compatible.
    ProtobufSchema added =
        parse(QUOTE.replace("int32 cents = 2;", "int64 cents = 2; string x = 9;"));
    assertThat(added.cannotRead(v1)).isEmpty();
    assertThat(v1.cannotRead(added)).isEmpty();
    ProtobufSchema removed = parse(QUOTE.replace("string symbol = 1;", ""));
    assertThat(removed.cannotRead(v1)).isEmpty();

    assertThat(parse(QUOTE.replace("int32 cents = 2;", "string cents = 2;")).cannotRead(v1))
        .singleElement()
        .asString()
        .startsWith("FIELD_SCALAR_KIND_CHANGED");
    assertThat(parse(QUOTE.replace("Side side = 3;", "int32 side = 3;")).cannotRead(v1))
        .anySatisfy(w -> assertThat(w).startsWith("FIELD_KIND_CHANGED"));
    assertThat(parse(QUOTE.replace("Venue venue = 6;", "Ack venue = 6;")).cannotRead(v1))
        .anySatisfy(w -> assertThat(w).startsWith("FIELD_NAMED_TYPE_CHANGED"));
    assertThat(
            parse(
                    QUOTE
                        .replace("message Ack { bool ok = 1; }", "")
                        .replace("returns (Ack)", "returns (Quote)"))
                .cannotRead(v1))
        .anySatisfy(w -> assertThat(w).startsWith("MESSAGE_REMOVED: shop.v1.Ack"));
    assertThat(parse(QUOTE.replace("package shop.v1;", "package shop.v2;")).cannotRead(v1))
        .anySatisfy(w -> assertThat(w).startsWith("PACKAGE_CHANGED"));
    assertThat(
            parse(
                    QUOTE
                        .replace("repeated int64 history", "int64 history")
                        .replace(" [packed = true]", ""))
                .cannotRead(v1))
        .anySatisfy(w -> assertThat(w).startsWith("FIELD_NUMERIC_LABEL_CHANGED"));
    assertThat(
            parse(
                    QUOTE.replace(
                        "oneof kind { string note = 7; int32 code = 8; }",
                        "string note = 7; int32 code = 8;"))
                .cannotRead(v1))
        .anySatisfy(w -> assertThat(w).startsWith("ONEOF_FIELD_REMOVED"));
    String p2 = "syntax = \"proto2\"; message A { optional int32 a = 1; }";
    assertThat(parse(p2.replace("}", "required int32 b = 2; }")).cannotRead(parse(p2)))
        .anySatisfy(w -> assertThat(w).startsWith("REQUIRED_FIELD_ADDED"));
    assertThat(parse(p2).cannotRead(AvroSchema.parse("\"string\""))).isNotEmpty();
  }

  @Test
  void shouldCheckPayloadsAgainstTheMessage() {
    ProtobufSchema s = parse(QUOTE);
    byte[] ok =
        new Proto()
            .string(1, "ACME")
            .tag(2, 0)
            .varint(150)
            .tag(3, 0)
            .varint(1)
            .bytes(4, new Proto().varint(1).varint(2).done()) // packed
            .bytes(6, new Proto().string(1, "NYSE").done())
            .string(7, "n")
            .tag(99, 0) // an unknown field: kept by Protobuf, allowed
            .varint(5)
            .done();
    s.validate(ok, 0, ok.length, false);
    byte[] framed = new byte[ok.length + 1]; // Confluent's indexes: [0] is written as one 0 byte
    System.arraycopy(ok, 0, framed, 1, ok.length);
    s.validate(framed, 0, framed.length, true);
    // Indexes [1]: the second top-level message (Ack), count 1 and index 1 as zig-zag varints.
    byte[] ack = {2, 2, 8, 1};
    s.validate(ack, 0, ack.length, true);

    byte[] wrongWire = new Proto().tag(1, 0).varint(3).done(); // string sent as a varint
    assertThatThrownBy(() -> s.validate(wrongWire, 0, wrongWire.length, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("symbol");
    assertThatThrownBy(() -> s.validate(ok, 0, ok.length - 1, false))
        .isInstanceOf(IllegalArgumentException.class);
    byte[] badNested = new Proto().bytes(6, new Proto().tag(1, 0).varint(1).done()).done();
    assertThatThrownBy(() -> s.validate(badNested, 0, badNested.length, false))
        .hasMessageContaining("Venue.name");
    byte[] badUtf8 = new Proto().bytes(1, new byte[] {(byte) 0xff}).done();
    assertThatThrownBy(() -> s.validate(badUtf8, 0, badUtf8.length, false))
        .hasMessageContaining("UTF-8");
    byte[] noSuchMessage = {2, 10};
    assertThatThrownBy(() -> s.validate(noSuchMessage, 0, 2, true)).hasMessageContaining("index");
  }

  @Test
  void shouldRegisterProtobufUnderOneIdWhateverTheLayout() {
    try (SchemaRegistry r =
        SchemaRegistry.open(NioStorageIO.INSTANCE, dir, SchemaRegistryConfig.DEFAULTS)) {
      var a = r.register("quotes-value", SchemaType.PROTOBUF, QUOTE);
      var b = r.register("quotes-value", SchemaType.PROTOBUF, QUOTE.replace("  ", "    "));
      assertThat(b.id()).isEqualTo(a.id());
      assertThat(a.type()).isEqualTo(SchemaType.PROTOBUF);
      assertThatThrownBy(
              () ->
                  r.register(
                      "quotes-value",
                      SchemaType.PROTOBUF,
                      QUOTE.replace("int32 cents = 2;", "string cents = 2;")))
          .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INCOMPATIBLE));
      // An Avro schema under the same subject is another type: never compatible.
      assertThatThrownBy(() -> r.register("quotes-value", SchemaType.AVRO, "\"string\""))
          .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INCOMPATIBLE));
    }
  }
}
