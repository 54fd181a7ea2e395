package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * An Avro schema: compatibility by Avro's own reader/writer rules ({@link SchemaCompatibility}),
 * payloads checked by decoding them with a {@link GenericDatumReader} (binary encoding, the bytes
 * after Confluent's 5-byte prefix). Immutable and thread-safe (a reader is made per check: Avro's
 * readers keep per-call state).
 */
final class AvroSchema implements ParsedSchema {
  private final Schema schema;
  private final String canonical;

  private AvroSchema(Schema schema) {
    this.schema = schema;
    this.canonical = schema.toString();
  }

  /**
   * Parses Avro schema JSON.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_INVALID}
   */
  static AvroSchema parse(String text) {
    try {
      return new AvroSchema(new Schema.Parser().setValidateDefaults(true).parse(text));
    } catch (org.apache.avro.AvroRuntimeException e) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_INVALID, "AVRO", e.getMessage());
    } catch (RuntimeException e) { // Jackson's parse errors and Avro's unchecked surprises
      throw SwitchboardException.of(ErrorCode.SCHEMA_INVALID, "AVRO", String.valueOf(e));
    }
  }

  @Override
  public SchemaType type() {
    return SchemaType.AVRO;
  }

  @Override
  public String canonical() {
    return canonical;
  }

  Schema schema() {
    return schema;
  }

  @Override
  public List<String> cannotRead(ParsedSchema writer) {
    if (!(writer instanceof AvroSchema w)) {
      return List.of("a " + writer.type() + " schema cannot be read as Avro");
    }
    SchemaCompatibility.SchemaPairCompatibility result =
        SchemaCompatibility.checkReaderWriterCompatibility(schema, w.schema);
    if (result.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      return List.of();
    }
    List<String> why = new ArrayList<>();
    for (SchemaCompatibility.Incompatibility i : result.getResult().getIncompatibilities()) {
      why.add(
          "{errorType:'"
              + i.getType()
              + "', description:'"
              + i.getMessage()
              + "', location:'"
              + i.getLocation()
              + "'}");
    }
    if (why.isEmpty()) {
      why.add(result.getDescription());
    }
    return why;
  }

  @Override
  public void validate(byte[] payload, int offset, int length, boolean confluentFraming) {
    BinaryDecoder in = DecoderFactory.get().binaryDecoder(payload, offset, length, null);
    try {
      new GenericDatumReader<Object>(schema).read(null, in);
      if (!in.isEnd()) {
        throw new IllegalArgumentException("bytes are left over after one Avro value");
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage() != null) {
        throw iae;
      }
      throw new IllegalArgumentException("not Avro binary of this schema: " + e, e);
    }
  }
}
