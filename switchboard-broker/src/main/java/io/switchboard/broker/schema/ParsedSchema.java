package io.switchboard.broker.schema;

import java.util.List;

/**
 * A schema parsed once and kept: its canonical text, the compatibility check and the payload check
 * of its type. Immutable and thread-safe.
 */
public interface ParsedSchema {
  SchemaType type();

  /** The canonical text: two schemas with the same canonical text are the same schema (one id). */
  String canonical();

  /**
   * Why this schema, as a reader, cannot read data written with {@code writer}; empty when it can.
   * A writer of another type is never readable.
   */
  List<String> cannotRead(ParsedSchema writer);

  /**
   * Checks that {@code length} bytes of {@code payload} from {@code offset} are one whole value of
   * this schema.
   *
   * @param confluentFraming whether the bytes follow Confluent's 5-byte prefix, in which case a
   *     Protobuf value starts with its message indexes
   * @throws IllegalArgumentException naming the problem, when they are not
   */
  void validate(byte[] payload, int offset, int length, boolean confluentFraming);
}
