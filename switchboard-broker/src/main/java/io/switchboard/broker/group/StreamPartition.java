package io.switchboard.broker.group;

/**
 * One partition of a stream: what a group's committed offset is for. Immutable.
 *
 * @param stream the stream's name
 * @param partition the partition's index
 */
public record StreamPartition(String stream, int partition) {
  public StreamPartition {
    if (stream == null || partition < 0) {
      throw new IllegalArgumentException(
          "a stream and a partition >= 0: " + stream + "/" + partition);
    }
  }

  @Override
  public String toString() {
    return stream + "/" + partition;
  }
}
