package io.switchboard.log.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * A file layer that stops working after a budget of mutating calls, the way a process killed in the
 * middle of an operation stops: every later write, truncate, force, create, delete, rename or
 * directory force throws. Reads keep working. Paired with {@link SimulatedDisk#crash} it puts a
 * crash at each step of a multi-step operation in turn. Thread-safe.
 */
public final class DyingIO implements StorageIO {
  private final StorageIO delegate;
  private long budget = Long.MAX_VALUE;
  private long steps;

  public DyingIO(StorageIO delegate) {
    this.delegate = delegate;
  }

  /** From now on, allow {@code calls} more mutating calls, then die. */
  public synchronized void dieAfter(long calls) {
    budget = calls;
  }

  /** Whether the budget is spent: every further mutating call throws. */
  public synchronized boolean dead() {
    return budget <= 0;
  }

  /** Mutating calls made so far. */
  public synchronized long steps() {
    return steps;
  }

  private synchronized void step() throws IOException {
    if (budget <= 0) {
      throw new IOException("process died (simulated)");
    }
    budget--;
    steps++;
  }

  @Override
  public StorageFile open(Path path, boolean create) throws IOException {
    if (create) {
      step();
    }
    StorageFile file = delegate.open(path, create);
    return new StorageFile() {
      @Override
      public Path path() {
        return file.path();
      }

      @Override
      public void write(ByteBuffer src, long position) throws IOException {
        step();
        file.write(src, position);
      }

      @Override
      public int read(ByteBuffer dst, long position) throws IOException {
        return file.read(dst, position);
      }

      @Override
      public long size() throws IOException {
        return file.size();
      }

      @Override
      public void truncate(long size) throws IOException {
        step();
        file.truncate(size);
      }

      @Override
      public void force() throws IOException {
        step();
        file.force();
      }

      @Override
      public long transferTo(long position, long count, WritableByteChannel target)
          throws IOException {
        return file.transferTo(position, count, target);
      }

      @Override
      public void close() throws IOException {
        file.close();
      }
    };
  }

  @Override
  public boolean exists(Path path) {
    return delegate.exists(path);
  }

  @Override
  public void createDirectories(Path dir) throws IOException {
    step();
    delegate.createDirectories(dir);
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    return delegate.list(dir);
  }

  @Override
  public List<Path> listDirectories(Path dir) throws IOException {
    return delegate.listDirectories(dir);
  }

  @Override
  public void delete(Path path) throws IOException {
    step();
    delegate.delete(path);
  }

  @Override
  public void deleteTree(Path dir) throws IOException {
    step();
    delegate.deleteTree(dir);
  }

  @Override
  public void move(Path from, Path to) throws IOException {
    step();
    delegate.move(from, to);
  }

  @Override
  public void forceDirectory(Path dir) throws IOException {
    step();
    delegate.forceDirectory(dir);
  }
}
