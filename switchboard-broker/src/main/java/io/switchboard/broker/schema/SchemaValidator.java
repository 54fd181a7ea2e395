package io.switchboard.broker.schema;

import io.switchboard.broker.stream.StreamSchema;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.LongAdder;

/**
 * The publish path's schema check for streams that require one ({@link StreamSchema}): the message
 * names a schema id (Confluent's 5-byte prefix, or the {@value StreamSchema#HEADER} header), the id
 * is a live version of the stream's registry subject, and the payload decodes with it. Takes no
 * lock and does no I/O (parsed schemas come from the registry's bounded cache). Thread-safe.
 */
public final class SchemaValidator {
  /** Confluent's wire format: magic byte 0, then the schema id as a big-endian int. */
  static final byte MAGIC = 0;

  static final int PREFIX_BYTES = 5;

  private final SchemaRegistry registry;
  private final LongAdder rejected = new LongAdder();
  private final LongAdder accepted = new LongAdder();

  public SchemaValidator(SchemaRegistry registry) {
    this.registry = registry;
  }

  /**
   * Checks one message bound for {@code stream}.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_REQUIRED}, {@link
   *     ErrorCode#SCHEMA_ID_UNKNOWN}, {@link ErrorCode#SCHEMA_SUBJECT_MISMATCH}, {@link
   *     ErrorCode#SCHEMA_PAYLOAD_INVALID} (each counted in {@link #rejectedCount()})
   */
  public void check(String stream, StreamSchema schema, Message m) {
    try {
      checkOne(stream, schema, m);
      accepted.increment();
    } catch (SwitchboardException e) {
      rejected.increment();
      throw e;
    }
  }

  private void checkOne(String stream, StreamSchema schema, Message m) {
    byte[] p = m.payload();
    byte[] header =
        schema.format() == StreamSchema.Format.CONFLUENT ? null : m.header(StreamSchema.HEADER);
    int id;
    int offset;
    if (header != null) {
      id = parseId(stream, schema, m, header);
      offset = 0;
    } else if (schema.format() != StreamSchema.Format.HEADER
        && p.length >= PREFIX_BYTES
        && p[0] == MAGIC) {
      id = ((p[1] & 0xff) << 24) | ((p[2] & 0xff) << 16) | ((p[3] & 0xff) << 8) | (p[4] & 0xff);
      offset = PREFIX_BYTES;
    } else {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_REQUIRED, stream, schema.subject(), m.subject(), expected(schema));
    }
    ParsedSchema parsed = registry.parsed(id);
    if (parsed == null) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_ID_UNKNOWN, stream, m.subject(), id);
    }
    if (!registry.isVersionOf(schema.subject(), id)) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_SUBJECT_MISMATCH, stream, id, schema.subject());
    }
    try {
      parsed.validate(p, offset, p.length - offset, offset == PREFIX_BYTES);
    } catch (IllegalArgumentException e) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_PAYLOAD_INVALID, stream, m.subject(), id, e.getMessage());
    }
  }

  private static int parseId(String stream, StreamSchema schema, Message m, byte[] header) {
    String text = new String(header, StandardCharsets.UTF_8).trim();
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_REQUIRED,
          stream,
          schema.subject(),
          m.subject(),
          StreamSchema.HEADER + " \"" + text + "\" is not a schema id");
    }
  }

  private static String expected(StreamSchema schema) {
    return switch (schema.format()) {
      case CONFLUENT -> "expected magic byte 0 and a 4-byte schema id before the value";
      case HEADER -> "expected header " + StreamSchema.HEADER;
      case ANY ->
          "expected header "
              + StreamSchema.HEADER
              + ", or magic byte 0 and a 4-byte schema id before the value";
    };
  }

  /** Messages refused by a stream's schema so far (for metrics). */
  public long rejectedCount() {
    return rejected.sum();
  }

  /** Messages checked and accepted so far (for metrics). */
  public long acceptedCount() {
    return accepted.sum();
  }
}
