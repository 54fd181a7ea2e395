package io.switchboard.broker.group;

/**
 * What a member commits for one partition: the offset of the next message the group will read there
 * (Kafka's convention), and an optional note. Immutable.
 *
 * @param offset the next offset to read, >= 0
 * @param metadata the committer's note, or {@code null}; at most {@value
 *     GroupCoordinator#MAX_METADATA_BYTES} bytes of UTF-8
 */
public record OffsetCommit(long offset, String metadata) {
  public static OffsetCommit of(long offset) {
    return new OffsetCommit(offset, null);
  }
}
