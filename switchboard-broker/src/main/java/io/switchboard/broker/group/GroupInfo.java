package io.switchboard.broker.group;

import java.util.Set;

/**
 * A consumer group as the broker keeps it. Immutable.
 *
 * @param group the group's id
 * @param generation its latest generation, {@link Groups#NO_GENERATION} when it never had one
 * @param members the member ids of that generation; empty when it has no active generation
 * @param offsets how many partitions it has committed offsets for
 */
public record GroupInfo(String group, int generation, Set<String> members, int offsets) {
  /** Whether a generation with members is active: commits must then name it and a member. */
  public boolean active() {
    return !members.isEmpty();
  }
}
