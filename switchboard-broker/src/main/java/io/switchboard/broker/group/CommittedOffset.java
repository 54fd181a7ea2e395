package io.switchboard.broker.group;

/**
 * A group's committed offset for one partition. Immutable.
 *
 * @param offset the next offset the group will read there
 * @param metadata the committer's note, or {@code null}
 * @param generation the generation that committed it ({@link Groups#NO_GENERATION}: a commit made
 *     outside any generation, by a standalone consumer or an admin tool)
 * @param commitTimeMs when the broker accepted the commit
 */
public record CommittedOffset(long offset, String metadata, int generation, long commitTimeMs) {}
