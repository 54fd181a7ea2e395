package io.switchboard.log.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * Every file-system operation of the log goes through this interface, so that tests can substitute
 * a fault-injecting implementation that simulates power loss and failed fsyncs. Implementations are
 * thread-safe.
 *
 * <p>Directory entries (created, renamed and deleted files) are durable only after {@link
 * #forceDirectory} of their directory returned normally.
 */
public interface StorageIO {

  /** Opens {@code path} for reading and writing, creating it when {@code create} is true. */
  StorageFile open(Path path, boolean create) throws IOException;

  boolean exists(Path path);

  void createDirectories(Path dir) throws IOException;

  /** The regular files directly inside {@code dir}, in no particular order. */
  List<Path> list(Path dir) throws IOException;

  /** The directories directly inside {@code dir}, in no particular order; none if it is missing. */
  List<Path> listDirectories(Path dir) throws IOException;

  /** Deletes {@code path} if it exists. */
  void delete(Path path) throws IOException;

  /**
   * Deletes {@code dir} with everything under it, if it exists. Like {@link #delete}, the removal
   * is durable once the parent directory is {@linkplain #forceDirectory forced}.
   */
  void deleteTree(Path dir) throws IOException;

  /** Renames {@code from} to {@code to} atomically, replacing {@code to} if it exists. */
  void move(Path from, Path to) throws IOException;

  /** Makes the directory's entries durable (fsync of the directory). */
  void forceDirectory(Path dir) throws IOException;

  /**
   * Replaces {@code target} with {@code content} so that after a crash it holds either the old or
   * the new content, never a mix: write a temporary file, force it, rename it over the target,
   * force the directory.
   */
  default void writeAtomically(Path target, ByteBuffer content) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try (StorageFile file = open(tmp, true)) {
      file.truncate(0);
      file.write(content, 0);
      file.force();
    }
    move(tmp, target);
    forceDirectory(target.getParent());
  }

  /** Reads a whole small file (checkpoints, index files). */
  default ByteBuffer readAll(Path path) throws IOException {
    try (StorageFile file = open(path, false)) {
      long size = file.size();
      if (size > Integer.MAX_VALUE) {
        throw new IOException(path + " is too large to read whole: " + size + " bytes");
      }
      ByteBuffer buffer = ByteBuffer.allocate((int) size);
      file.read(buffer, 0);
      return buffer.flip();
    }
  }
}
