package io.switchboard.security;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Crash-safe whole-file writes: the new content goes to {@code <name>.tmp}, is forced, renamed over
 * the file atomically, and the directory is forced, so after a crash the file holds either the old
 * content or the new one, never a mix. A {@code .tmp} left by a crash is simply overwritten (or
 * deleted by {@link #deleteLeftover}). Stateless.
 */
final class AtomicFiles {
  private AtomicFiles() {}

  static void write(Path file, byte[] content) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    forceDirectory(dir);
  }

  static void deleteLeftover(Path file) throws IOException {
    Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".tmp"));
  }

  private static void forceDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
