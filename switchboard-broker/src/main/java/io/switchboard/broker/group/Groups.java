package io.switchboard.broker.group;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Consumer groups' generations and committed offsets, per group and stream partition: what a Kafka
 * group coordinator keeps (OffsetCommit, OffsetFetch, ListGroups, DeleteGroups, OffsetDelete).
 * Members assign partitions among themselves, as Kafka clients do; the broker keeps who the members
 * of the current generation are, and the offsets they commit. Reached through {@code
 * Broker.groups()}.
 *
 * <p>A <em>generation</em> is a numbered membership of a group: {@link #newGeneration} starts the
 * next one with its member ids (a join round finished) and returns its number, which only grows
 * while the group exists, across restarts too. While a generation with members is active, a commit
 * must name that generation and one of its members; a stale generation is refused with {@link
 * io.switchboard.core.ErrorCode#STALE_GENERATION}, an unknown member with {@link
 * io.switchboard.core.ErrorCode#UNKNOWN_GROUP_MEMBER}. Without an active generation (a group never
 * joined, or emptied by a generation without members), a commit with {@link #NO_GENERATION} and no
 * member is accepted: Kafka's standalone consumers and admin tools.
 *
 * <p>Durability: a change is acknowledged once it is forced to disk; what was acknowledged survives
 * a crash or a kill. Bounds: {@code BrokerConfig.maxGroups} groups, {@code maxOffsetsPerGroup}
 * offsets per group ({@link io.switchboard.core.ErrorCode#TOO_MANY_GROUPS}, {@link
 * io.switchboard.core.ErrorCode#TOO_MANY_GROUP_OFFSETS}), {@value GroupCoordinator#MAX_MEMBERS}
 * members per generation, ids of at most {@value GroupCoordinator#MAX_ID_CHARS} characters,
 * metadata of at most {@value GroupCoordinator#MAX_METADATA_BYTES} bytes. Offsets of a stream that
 * is deleted stay with their groups until the groups delete them.
 *
 * <p>Threading: changes never block; their futures complete on the broker's partition runner or log
 * flusher, so a front end hops to its own thread before touching its connection. Reads are
 * lock-free looks at memory and may be made on an event loop.
 */
public final class Groups {
  /** The generation of a commit made outside any generation, and of a group without one. */
  public static final int NO_GENERATION = -1;

  /**
   * The generation of a transaction's offsets (Kafka's TxnOffsetCommit): checked against the
   * generation when they were sent, applied when the transaction commits whatever the generation is
   * then, as Kafka's transaction markers are. Names no member.
   */
  public static final int TRANSACTION = -2;

  private final GroupCoordinator coordinator;

  Groups(GroupCoordinator coordinator) {
    this.coordinator = coordinator;
  }

  /**
   * Starts the next generation of {@code group} with these member ids (none: the group is empty,
   * and commits without a generation are accepted again). Creates the group if needed.
   *
   * @return the new generation's number (1 for a group's first)
   */
  public CompletableFuture<Integer> newGeneration(String group, Collection<String> members) {
    return coordinator.newGeneration(group, members);
  }

  /**
   * Commits offsets for {@code group}: all of them or none. {@code generation} and {@code member}
   * must be the active generation's and one of its members, or {@link #NO_GENERATION} and {@code
   * null} when the group has no active generation ({@link
   * io.switchboard.core.ErrorCode#GROUP_NOT_EMPTY} otherwise). Fails also with {@link
   * io.switchboard.core.ErrorCode#STREAM_NOT_FOUND} or {@link
   * io.switchboard.core.ErrorCode#INVALID_ARGUMENT} for a partition that does not exist or a
   * negative offset, {@link io.switchboard.core.ErrorCode#OFFSET_METADATA_TOO_LARGE}, {@link
   * io.switchboard.core.ErrorCode#GROUP_BACKPRESSURE}, or the log's error.
   */
  public CompletableFuture<Void> commit(
      String group, int generation, String member, Map<StreamPartition, OffsetCommit> offsets) {
    return coordinator.commit(group, generation, member, offsets);
  }

  /**
   * The committed offsets of {@code group} for {@code partitions} ({@code null} or empty: all of
   * them); a partition without one is absent, and so is everything of an unknown group.
   */
  public Map<StreamPartition, CommittedOffset> fetch(
      String group, Collection<StreamPartition> partitions) {
    return coordinator.fetch(group, partitions);
  }

  /** A group's generation, members and number of offsets, if the broker knows the group. */
  public Optional<GroupInfo> describe(String group) {
    return coordinator.describe(group);
  }

  /** Every group the broker keeps, by id. */
  public List<GroupInfo> list() {
    return coordinator.list();
  }

  /**
   * Deletes committed offsets of {@code group}: those of {@code partitions}, or, with {@code null},
   * all of them and the group itself (its generation numbers start again at 1). Refused while a
   * generation with members is active ({@link io.switchboard.core.ErrorCode#GROUP_NOT_EMPTY});
   * {@link io.switchboard.core.ErrorCode#GROUP_NOT_FOUND} for an unknown group.
   *
   * @return how many offsets were deleted
   */
  public CompletableFuture<Integer> delete(String group, Collection<StreamPartition> partitions) {
    return coordinator.delete(group, partitions);
  }
}
