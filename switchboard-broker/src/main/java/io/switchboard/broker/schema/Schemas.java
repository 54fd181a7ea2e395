package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/** Parses schema text by type. Stateless. */
final class Schemas {
  private Schemas() {}

  /**
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_INVALID}
   */
  static ParsedSchema parse(SchemaType type, String text) {
    if (text == null || text.isBlank()) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_INVALID, type, "the schema is empty");
    }
    return switch (type) {
      case AVRO -> AvroSchema.parse(text);
      case PROTOBUF -> ProtobufSchema.parse(text);
    };
  }
}
