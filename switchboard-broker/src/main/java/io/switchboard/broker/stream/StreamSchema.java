package io.switchboard.broker.stream;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/**
 * A stream's schema requirement: every message stored must name a schema that is a live version of
 * {@code subject} in the broker's schema registry, and its payload must decode with it. Immutable.
 *
 * @param subject the registry subject (Confluent's, such as {@code orders-value})
 * @param format where a message names its schema id
 */
public record StreamSchema(String subject, Format format) {

  /** Where a message names its schema. */
  public enum Format {
    /**
     * Confluent's wire format: byte 0 is the magic 0, bytes 1-4 the schema id (big-endian), the
     * encoded value after them — what Kafka serializers write.
     */
    CONFLUENT,
    /** The header {@value #HEADER} holds the id (decimal); the whole payload is the value. */
    HEADER,
    /** The header when the message has one, else Confluent's prefix. */
    ANY
  }

  /** The header that names a message's schema id. */
  public static final String HEADER = "sb-schema-id";

  public StreamSchema {
    if (subject == null || subject.isEmpty() || subject.length() > 255) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "schema.subject must have 1 to 255 characters");
    }
    if (format == null) {
      format = Format.ANY;
    }
  }
}
