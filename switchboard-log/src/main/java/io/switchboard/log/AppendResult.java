package io.switchboard.log;

/**
 * Where an appended batch landed. Immutable.
 *
 * @param baseOffset offset of its first record
 * @param lastOffset offset of its last record
 * @param maxTimestamp largest record timestamp in the batch
 */
public record AppendResult(long baseOffset, long lastOffset, long maxTimestamp) {
  public int recordCount() {
    return (int) (lastOffset - baseOffset + 1);
  }
}
