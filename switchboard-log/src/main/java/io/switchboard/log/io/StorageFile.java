package io.switchboard.log.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;

/**
 * One open file of the log. Positional reads and writes may run concurrently from several threads;
 * {@link #truncate} and {@link #close} must not race with writes (the log's owner guarantees it).
 *
 * <p>Durability contract: bytes written are durable only after a {@link #force} that returned
 * normally. A failed {@code force} leaves durability unknown; callers must treat it as fatal.
 */
public interface StorageFile extends Closeable {

  Path path();

  /**
   * Writes all remaining bytes of {@code src} at {@code position}. Borrows {@code src}: its
   * position advances to its limit; the caller keeps ownership.
   */
  void write(ByteBuffer src, long position) throws IOException;

  /**
   * Reads into {@code dst} from {@code position} until {@code dst} is full or the end of the file.
   * Borrows {@code dst}.
   *
   * @return the number of bytes read (less than requested only at the end of the file)
   */
  int read(ByteBuffer dst, long position) throws IOException;

  long size() throws IOException;

  void truncate(long size) throws IOException;

  /** Makes every byte written so far durable (fdatasync). */
  void force() throws IOException;

  /**
   * Sends {@code count} bytes from {@code position} to {@code target} without copying them through
   * the heap where the platform allows it (FileChannel.transferTo).
   *
   * @return the number of bytes transferred
   */
  long transferTo(long position, long count, WritableByteChannel target) throws IOException;
}
