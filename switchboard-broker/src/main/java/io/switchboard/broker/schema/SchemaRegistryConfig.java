package io.switchboard.broker.schema;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/**
 * Bounds of the schema registry. Immutable.
 *
 * @param maxSchemas distinct schemas (ids) kept at most
 * @param maxSubjects subjects kept at most
 * @param maxVersionsPerSubject versions (soft-deleted ones included) one subject keeps at most
 * @param maxSchemaBytes longest schema text accepted, in UTF-8 bytes
 * @param parsedCacheEntries parsed schemas kept for checking publishes
 */
public record SchemaRegistryConfig(
    int maxSchemas,
    int maxSubjects,
    int maxVersionsPerSubject,
    int maxSchemaBytes,
    int parsedCacheEntries) {

  /**
   * 10,000 schemas and subjects, 1,000 versions each, 512 KiB a schema, 1,024 parsed: far above
   * what a fleet of services registers, and small enough that the whole registry stays in memory
   * (at most a few GiB in the worst case of every schema at the size limit — a memory bound an
   * operator can lower, not a target).
   */
  public static final SchemaRegistryConfig DEFAULTS =
      new SchemaRegistryConfig(10_000, 10_000, 1_000, 512 * 1024, 1_024);

  public SchemaRegistryConfig {
    if (maxSchemas < 1
        || maxSubjects < 1
        || maxVersionsPerSubject < 1
        || maxSchemaBytes < 16
        || parsedCacheEntries < 1) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "schema registry bounds must be positive (schema bytes >= 16)");
    }
  }
}
