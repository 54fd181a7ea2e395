package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.Locale;

/** The kinds of schema the registry holds (Confluent's {@code schemaType}). Immutable. */
public enum SchemaType {
  AVRO,
  PROTOBUF;

  /**
   * The type named {@code text}; AVRO when it is null (Confluent's default).
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_INVALID} for another name (JSON Schema is
   *     not supported)
   */
  public static SchemaType parse(String text) {
    if (text == null || text.isEmpty()) {
      return AVRO;
    }
    try {
      return valueOf(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_INVALID, text, "schemaType must be AVRO or PROTOBUF");
    }
  }
}
