package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/** Protobuf schemas: not accepted yet (issue 17 leaves them for a later change). Stateless. */
final class ProtobufSchema {
  private ProtobufSchema() {}

  static ParsedSchema parse(String text) {
    throw SwitchboardException.of(
        ErrorCode.SCHEMA_INVALID,
        "PROTOBUF",
        "Protobuf schemas are not supported by this registry yet (issue 17); register AVRO");
  }
}
