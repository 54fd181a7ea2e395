package io.switchboard.broker.stream;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A stream's definition and state. Immutable snapshot.
 *
 * @param config its definition
 * @param partitions each partition's state, by index
 */
public record StreamInfo(StreamConfig config, List<PartitionInfo> partitions) {

  /**
   * One partition's state.
   *
   * @param partition its index
   * @param firstOffset first readable offset
   * @param nextOffset the offset the next message gets
   * @param bytes bytes on disk
   */
  public record PartitionInfo(int partition, long firstOffset, long nextOffset, long bytes) {}

  /** Messages held, counting offsets compaction or retention emptied. */
  @JsonProperty("messages")
  public long messages() {
    return partitions.stream().mapToLong(p -> p.nextOffset() - p.firstOffset()).sum();
  }
}
