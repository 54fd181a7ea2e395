package io.switchboard.log.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Thread-safe (one monitor, the disk itself, guards all state): an in-memory {@link StorageIO} that
 * simulates power loss.
 *
 * <p>Each file is an inode with current content (what reads see), durable content (what survives
 * {@link #crash}) and the writes and truncations applied since its last successful force. Directory
 * entries likewise have a current and a durable map; only {@link #forceDirectory} copies the one to
 * the other. A crash keeps the durable content plus a random prefix of the pending operations, the
 * last one possibly torn, and kills every open handle.
 *
 * <p>Simplifications: directories themselves are durable as soon as they are created, and a deleted
 * tree is gone for good at once (its files do not come back in a crash); a torn write never extends
 * a file with garbage or zeros beyond the bytes it kept; a file's length is durable exactly when
 * the bytes that set it are.
 */
public final class SimulatedDisk implements StorageIO {
  // Sorted maps so that a crash consumes the Random in the same order for the same seed.
  private final Map<Path, Inode> current = new TreeMap<>();
  private final Map<Path, Inode> durable = new TreeMap<>();
  private final Set<Path> directories = new HashSet<>();
  // Handles remember the generation they were opened in; a crash starts a new one.
  private long generation;
  private long forceCount;
  private long failedForceCount;
  private Predicate<Path> failNextForce;
  private boolean lyingFsync;
  private boolean skipDirectoryForce;

  /** Cuts the power: see the class comment. */
  public synchronized void crash(Random random) {
    generation++;
    current.clear();
    current.putAll(durable);
    // After a rename across directories with only one of them forced, an inode can be durable
    // under two names; it must lose its pending writes once, not twice.
    Set<Inode> survivors = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Inode inode : durable.values()) {
      if (survivors.add(inode)) {
        inode.crash(random);
      }
    }
  }

  /** The next successful-looking force on a file whose path matches throws instead (one-shot). */
  public synchronized void failNextForce(Predicate<Path> which) {
    failNextForce = which;
  }

  /** How many forces threw because of {@link #failNextForce}. */
  public synchronized long failedForceCount() {
    return failedForceCount;
  }

  /** How many file forces returned normally (lying ones included). */
  public synchronized long forceCount() {
    return forceCount;
  }

  /** Planted bug: force returns normally but makes nothing durable. */
  public synchronized void setLyingFsync(boolean lying) {
    lyingFsync = lying;
  }

  /** Planted bug: forceDirectory returns normally but makes no entry durable. */
  public synchronized void setSkipDirectoryForce(boolean skip) {
    skipDirectoryForce = skip;
  }

  /** The bytes a read would see now. */
  public synchronized byte[] contentOf(Path path) {
    return inode(path).current.toArray();
  }

  /** The bytes that would survive a crash if no pending operation reached the platter. */
  public synchronized byte[] durableContentOf(Path path) {
    return inode(path).durable.clone();
  }

  /** Flips bits at {@code position}, in the durable content too, as media damage would. */
  public synchronized void corrupt(Path path, long position, byte xorMask) {
    Inode inode = inode(path);
    if (position < 0 || position >= inode.current.size) {
      throw new IllegalArgumentException(position + " is outside " + path);
    }
    inode.current.data[(int) position] ^= xorMask;
    if (position < inode.durable.length) {
      inode.durable[(int) position] ^= xorMask;
    }
  }

  @Override
  public synchronized StorageFile open(Path path, boolean create) throws IOException {
    Path key = normalize(path);
    Inode inode = current.get(key);
    if (inode == null) {
      if (!create) {
        throw new NoSuchFileException(path.toString());
      }
      requireDirectory(key.getParent(), path);
      inode = new Inode();
      current.put(key, inode);
    }
    return new Handle(path, inode, generation);
  }

  @Override
  public synchronized boolean exists(Path path) {
    Path key = normalize(path);
    return current.containsKey(key) || directories.contains(key);
  }

  @Override
  public synchronized void createDirectories(Path dir) {
    for (Path p = normalize(dir); p != null; p = p.getParent()) {
      directories.add(p);
    }
  }

  @Override
  public synchronized List<Path> list(Path dir) {
    Path key = normalize(dir);
    return current.keySet().stream().filter(p -> key.equals(p.getParent())).toList();
  }

  @Override
  public synchronized List<Path> listDirectories(Path dir) {
    Path key = normalize(dir);
    return directories.stream().filter(p -> key.equals(p.getParent())).sorted().toList();
  }

  @Override
  public synchronized void delete(Path path) {
    current.remove(normalize(path));
  }

  @Override
  public synchronized void deleteTree(Path dir) {
    Path key = normalize(dir);
    current.keySet().removeIf(p -> p.startsWith(key));
    durable.keySet().removeIf(p -> p.startsWith(key));
    directories.removeIf(p -> p.startsWith(key));
  }

  @Override
  public synchronized void move(Path from, Path to) throws IOException {
    Path source = normalize(from);
    Path target = normalize(to);
    Inode inode = current.get(source);
    if (inode == null) {
      throw new NoSuchFileException(from.toString());
    }
    requireDirectory(target.getParent(), to);
    current.remove(source);
    current.put(target, inode);
  }

  @Override
  public synchronized void forceDirectory(Path dir) throws IOException {
    Path key = normalize(dir);
    requireDirectory(key, dir);
    if (skipDirectoryForce) {
      return;
    }
    durable.keySet().removeIf(p -> key.equals(p.getParent()));
    current.forEach(
        (p, inode) -> {
          if (key.equals(p.getParent())) {
            durable.put(p, inode);
          }
        });
  }

  private Inode inode(Path path) {
    Inode inode = current.get(normalize(path));
    if (inode == null) {
      throw new IllegalArgumentException("no such file: " + path);
    }
    return inode;
  }

  private void requireDirectory(Path key, Path asGiven) throws NoSuchFileException {
    // The real file system refuses these too; accepting them would hide a missing mkdir.
    if (key == null || !directories.contains(key)) {
      throw new NoSuchFileException(asGiven.toString(), null, "no such directory");
    }
  }

  private static Path normalize(Path path) {
    return path.toAbsolutePath().normalize();
  }

  private static void requireNonNegative(long value, String what) {
    if (value < 0) {
      throw new IllegalArgumentException(what + " is negative: " + value);
    }
  }

  private sealed interface Op permits Write, Truncate {}

  private record Write(long position, byte[] bytes) implements Op {}

  private record Truncate(long size) implements Op {}

  /** A growable byte array; its capacity is slack so that appends stay amortized O(1). */
  private static final class Bytes {
    byte[] data;
    int size;

    Bytes(byte[] initial) {
      data = initial.clone();
      size = initial.length;
    }

    void write(long position, byte[] src, int length) {
      if (length == 0) {
        return; // like FileChannel: an empty write never extends the file
      }
      int end = Math.toIntExact(position + length);
      if (end > data.length) {
        data = Arrays.copyOf(data, (int) Math.max(end, Math.min(Integer.MAX_VALUE - 8, 2L * size)));
      }
      if (position > size) {
        // Capacity past size may hold bytes from before a truncate; a gap must read as zeros.
        Arrays.fill(data, size, (int) position, (byte) 0);
      }
      System.arraycopy(src, 0, data, (int) position, length);
      size = Math.max(size, end);
    }

    void truncate(long newSize) {
      size = (int) Math.min(size, newSize);
    }

    void apply(Op op) {
      switch (op) {
        case Write w -> write(w.position(), w.bytes(), w.bytes().length);
        case Truncate t -> truncate(t.size());
      }
    }

    byte[] toArray() {
      return Arrays.copyOf(data, size);
    }
  }

  private static final class Inode {
    Bytes current = new Bytes(new byte[0]);
    byte[] durable = new byte[0];
    final List<Op> pending = new ArrayList<>();

    void record(Op op) {
      current.apply(op);
      pending.add(op);
    }

    void force() {
      durable = current.toArray();
      pending.clear();
    }

    void crash(Random random) {
      Bytes survived = new Bytes(durable);
      if (!pending.isEmpty()) {
        int k = random.nextInt(pending.size() + 1);
        for (int i = 0; i < k; i++) {
          survived.apply(pending.get(i));
        }
        if (k < pending.size() && pending.get(k) instanceof Write w) {
          survived.write(w.position(), w.bytes(), random.nextInt(w.bytes().length + 1));
        }
      }
      durable = survived.toArray();
      current = survived;
      pending.clear();
    }
  }

  private final class Handle implements StorageFile {
    private final Path path;
    private final Inode inode;
    private final long openedIn;
    private boolean closed;

    Handle(Path path, Inode inode, long openedIn) {
      this.path = path;
      this.inode = inode;
      this.openedIn = openedIn;
    }

    private void check() throws IOException {
      if (openedIn != generation) {
        throw new IOException("disk crashed");
      }
      if (closed) {
        throw new ClosedChannelException();
      }
    }

    @Override
    public Path path() {
      return path;
    }

    @Override
    public void write(ByteBuffer src, long position) throws IOException {
      synchronized (SimulatedDisk.this) {
        check();
        requireNonNegative(position, "position");
        if (position > Integer.MAX_VALUE - 8 - src.remaining()) {
          throw new IOException("file too large for the simulated disk: " + path);
        }
        byte[] bytes = new byte[src.remaining()];
        src.get(bytes);
        if (bytes.length > 0) {
          inode.record(new Write(position, bytes));
        }
      }
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      synchronized (SimulatedDisk.this) {
        check();
        requireNonNegative(position, "position");
        if (position >= inode.current.size) {
          return 0;
        }
        int n = (int) Math.min(dst.remaining(), inode.current.size - position);
        dst.put(inode.current.data, (int) position, n);
        return n;
      }
    }

    @Override
    public long size() throws IOException {
      synchronized (SimulatedDisk.this) {
        check();
        return inode.current.size;
      }
    }

    @Override
    public void truncate(long size) throws IOException {
      synchronized (SimulatedDisk.this) {
        check();
        requireNonNegative(size, "size");
        if (size < inode.current.size) {
          inode.record(new Truncate(size));
        }
      }
    }

    @Override
    public void force() throws IOException {
      synchronized (SimulatedDisk.this) {
        check();
        if (failNextForce != null && failNextForce.test(path)) {
          failNextForce = null;
          failedForceCount++;
          throw new IOException("simulated fsync failure: " + path);
        }
        forceCount++;
        if (!lyingFsync) {
          inode.force();
        }
      }
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
        throws IOException {
      ByteBuffer chunk;
      synchronized (SimulatedDisk.this) {
        check();
        requireNonNegative(position, "position");
        requireNonNegative(count, "count");
        if (position >= inode.current.size || count == 0) {
          return 0;
        }
        int from = (int) position;
        int n = (int) Math.min(count, inode.current.size - position);
        chunk = ByteBuffer.wrap(Arrays.copyOfRange(inode.current.data, from, from + n));
      }
      // Outside the monitor: the target is foreign code and may block or call back into the disk.
      long sent = 0;
      while (chunk.hasRemaining()) {
        int written = target.write(chunk);
        if (written <= 0) {
          break;
        }
        sent += written;
      }
      return sent;
    }

    /** Never throws, even on a dead handle: abandoning a crashed file must not need a catch. */
    @Override
    public void close() {
      synchronized (SimulatedDisk.this) {
        closed = true;
      }
    }
  }
}
