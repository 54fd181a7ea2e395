package io.switchboard.log;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.RecordBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * A run of whole, CRC-checked batches of one segment, starting with the batch that holds the
 * requested offset (so it may start before it, as in Kafka). Immutable; the bytes can be taken as
 * parsed batches or sent to a channel without copying.
 *
 * <p>The result refers to the segment file; if retention or compaction removes the segment before
 * the bytes are taken, taking them fails with {@link ErrorCode#LOG_OFFSET_OUT_OF_RANGE} and the
 * caller reads again.
 */
public final class LogReadResult {
  private final Segment segment;
  private final int position;
  private final int length;
  private final long logStartOffset;
  private final long logEndOffset;

  LogReadResult(Segment segment, int position, int length, long logStartOffset, long logEndOffset) {
    this.segment = segment;
    this.position = position;
    this.length = length;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }

  static LogReadResult empty(long logStartOffset, long logEndOffset) {
    return new LogReadResult(null, 0, 0, logStartOffset, logEndOffset);
  }

  public boolean isEmpty() {
    return length == 0;
  }

  public int sizeInBytes() {
    return length;
  }

  /** The log's start offset when the read was made. */
  public long logStartOffset() {
    return logStartOffset;
  }

  /** The log's end offset (next offset to be assigned) when the read was made. */
  public long logEndOffset() {
    return logEndOffset;
  }

  /** Reads the bytes into the heap and returns the batches. */
  public List<RecordBatch> batches() {
    if (length == 0) {
      return List.of();
    }
    ByteBuffer bytes = ByteBuffer.allocate(length);
    try {
      segment.read(bytes, position);
    } catch (ClosedChannelException e) {
      throw removed(e);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, segment.logPath, e.getMessage());
    }
    return RecordBatch.readAll(bytes.flip());
  }

  /**
   * Copies the bytes, as they are in the segment, into {@code target} from its position on (it must
   * have {@link #sizeInBytes()} bytes left); its position moves past them.
   */
  public void copyTo(ByteBuffer target) {
    if (length == 0) {
      return;
    }
    try {
      ByteBuffer into = target.slice(target.position(), length);
      while (into.hasRemaining()) {
        if (segment.read(into, position + into.position()) < 0) {
          throw new java.io.EOFException("segment ends before " + (position + length));
        }
      }
      target.position(target.position() + length);
    } catch (ClosedChannelException e) {
      throw removed(e);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, segment.logPath, e.getMessage());
    }
  }

  /**
   * Sends the bytes to {@code target} through {@code FileChannel.transferTo} where the storage
   * allows it.
   *
   * @return bytes sent
   */
  public long transferTo(WritableByteChannel target) {
    if (length == 0) {
      return 0;
    }
    try {
      return segment.file().transferTo(position, length, target);
    } catch (ClosedChannelException e) {
      throw removed(e);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, segment.logPath, e.getMessage());
    }
  }

  private SwitchboardException removed(IOException e) {
    return SwitchboardException.wrap(
        e, ErrorCode.LOG_OFFSET_OUT_OF_RANGE, "(segment removed)", logStartOffset, logEndOffset);
  }
}
