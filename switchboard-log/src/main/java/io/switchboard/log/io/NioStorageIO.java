package io.switchboard.log.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** The real file system, through {@link FileChannel}. Thread-safe and stateless. */
public final class NioStorageIO implements StorageIO {

  /** The shared instance; it holds no state. */
  public static final NioStorageIO INSTANCE = new NioStorageIO();

  private NioStorageIO() {}

  @Override
  public StorageFile open(Path path, boolean create) throws IOException {
    FileChannel channel =
        create
            ? FileChannel.open(
                path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)
            : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    return new NioFile(path, channel);
  }

  @Override
  public boolean exists(Path path) {
    return Files.exists(path);
  }

  @Override
  public void createDirectories(Path dir) throws IOException {
    Files.createDirectories(dir);
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> entries = Files.list(dir)) {
      entries.filter(Files::isRegularFile).forEach(files::add);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return files;
  }

  @Override
  public List<Path> listDirectories(Path dir) throws IOException {
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> entries = Files.list(dir)) {
      entries.filter(Files::isDirectory).forEach(dirs::add);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return dirs;
  }

  @Override
  public void delete(Path path) throws IOException {
    Files.deleteIfExists(path);
  }

  @Override
  public void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Override
  public void move(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void forceDirectory(Path dir) throws IOException {
    // Linux allows fsync on a directory opened read-only; that is what makes new entries durable.
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private record NioFile(Path path, FileChannel channel) implements StorageFile {

    @Override
    public void write(ByteBuffer src, long position) throws IOException {
      long at = position;
      while (src.hasRemaining()) {
        at += channel.write(src, at);
      }
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      int total = 0;
      while (dst.hasRemaining()) {
        int n = channel.read(dst, position + total);
        if (n < 0) {
          break;
        }
        total += n;
      }
      return total;
    }

    @Override
    public long size() throws IOException {
      return channel.size();
    }

    @Override
    public void truncate(long size) throws IOException {
      channel.truncate(size);
    }

    @Override
    public void force() throws IOException {
      channel.force(false);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
        throws IOException {
      long sent = 0;
      while (sent < count) {
        long n = channel.transferTo(position + sent, count - sent, target);
        if (n <= 0) {
          break;
        }
        sent += n;
      }
      return sent;
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
