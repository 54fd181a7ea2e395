package io.switchboard.broker.consumer;

import java.util.List;

/**
 * What a consumer must remember across restarts, per partition: the next offset to deliver for the
 * first time, and every offset below it not yet acknowledged with its delivery count. Everything
 * else below {@code next} is done. Immutable snapshot.
 *
 * @param partitions by partition index
 */
public record ConsumerState(List<PartitionState> partitions) {

  /**
   * One partition's cursor.
   *
   * @param next the next offset to deliver for the first time
   * @param unacked offsets below {@code next} not acknowledged yet, as {@code [offset, deliveries]}
   *     pairs
   */
  public record PartitionState(long next, List<long[]> unacked) {}
}
