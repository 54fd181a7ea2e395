package io.switchboard.broker;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.StorageFile;
import io.switchboard.log.io.StorageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where declared bindings are kept: {@code <dataDir>/bindings.log}, a log of changes, each a record
 * {@code [length u32][crc32c u32][JSON]} — a put of a whole {@link BindingSpec} or a removal by
 * owner and name. A change is acknowledged only after its record is forced to disk. On open the log
 * is read up to the first torn or damaged record (a crash mid-append leaves at most the last,
 * unacknowledged one torn), cut there, and replayed. When most records are superseded it is
 * rewritten with one put per binding, atomically (temporary file, force, rename, force the
 * directory).
 *
 * <p>Changes are queued (bounded) and written by one thread, {@code sb-bindings}: everything queued
 * at a time goes in one write and one force (group commit), then {@code apply} puts it in force,
 * then the futures complete, on that thread.
 */
final class BindingStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BindingStore.class);

  static final String FILE = "bindings.log";

  /** Changes waiting to be written, at most. */
  static final int MAX_QUEUED = 16_384;

  /** A record larger than this is damage, not a binding (a spec is a few KiB at most). */
  private static final int MAX_RECORD_BYTES = 1 << 20;

  /** Rewrite the log when it holds this many records more than twice the bindings. */
  static final int COMPACT_SLACK = 1_024;

  private static final ObjectMapper JSON =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  /** One record: a put ({@code spec}) or a removal ({@code owner}, {@code name}). */
  record Change(BindingSpec spec, String owner, String name) {
    static Change put(BindingSpec spec) {
      return new Change(spec, null, null);
    }

    static Change remove(String owner, String name) {
      return new Change(null, owner, name);
    }
  }

  private static String keyOf(Change c) {
    return c.spec() != null ? key(c.spec().owner(), c.spec().name()) : key(c.owner(), c.name());
  }

  /** A queued change and its caller's future. */
  record Pending(Change change, CompletableFuture<Boolean> done) {}

  /** Wakes the writer to close. */
  private static final Pending CLOSE = new Pending(null, null);

  private final StorageIO io;
  private final Path dir;
  private final Path file;
  private final Map<String, BindingSpec> stored = new LinkedHashMap<>();
  private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(MAX_QUEUED);
  private final Consumer<Change> apply;
  private final Thread writer;
  private StorageFile out;
  private long size;
  private long records;
  private volatile boolean closed;

  /** Set when a failed write could not be cut back: every later change fails with it. */
  private volatile SwitchboardException broken;

  private final int maxBindings;
  private final int compactSlack;

  private BindingStore(
      StorageIO io, Path dir, int maxBindings, int compactSlack, Consumer<Change> apply) {
    this.io = io;
    this.maxBindings = maxBindings;
    this.compactSlack = compactSlack;
    this.dir = dir;
    this.file = dir.resolve(FILE);
    this.apply = apply;
    this.writer = Thread.ofPlatform().daemon().name("sb-bindings").unstarted(this::run);
  }

  /**
   * Opens (or creates) the store in {@code dir} and replays it; {@code apply} is then called for
   * every change written, after it is durable. It holds {@code maxBindings} at most.
   */
  static BindingStore open(StorageIO io, Path dir, int maxBindings, Consumer<Change> apply) {
    return open(io, dir, maxBindings, COMPACT_SLACK, apply);
  }

  /** {@link #open} compacting past {@code compactSlack} superseded records (tests: a few). */
  static BindingStore open(
      StorageIO io, Path dir, int maxBindings, int compactSlack, Consumer<Change> apply) {
    BindingStore s = new BindingStore(io, dir, maxBindings, compactSlack, apply);
    try {
      io.createDirectories(dir);
      boolean existed = io.exists(s.file);
      s.out = io.open(s.file, true);
      if (!existed) {
        io.forceDirectory(dir);
      }
      s.replay();
      s.compactIfWorthIt();
    } catch (IOException e) {
      s.closeFile();
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, s.file, e.getMessage());
    }
    s.writer.start();
    return s;
  }

  /** The bindings stored, in the order they were first put. */
  Collection<BindingSpec> all() {
    return List.copyOf(stored.values());
  }

  private void replay() throws IOException {
    long length = out.size();
    long pos = 0;
    ByteBuffer head = ByteBuffer.allocate(8);
    while (pos + 8 <= length) {
      head.clear();
      out.read(head, pos);
      int len = head.getInt(0);
      int crc = head.getInt(4);
      if (len <= 0 || len > MAX_RECORD_BYTES || pos + 8 + len > length) {
        break;
      }
      ByteBuffer body = ByteBuffer.allocate(len);
      out.read(body, pos + 8);
      CRC32C c = new CRC32C();
      c.update(body.array(), 0, len);
      if ((int) c.getValue() != crc) {
        break;
      }
      Change change = JSON.readValue(body.array(), Change.class);
      record(change);
      pos += 8 + len;
      records++;
    }
    if (pos < length) {
      // A torn tail (never acknowledged) or damage: what follows cannot be trusted.
      LOG.warn(
          "SB-BIND-1 {}: {} bytes after offset {} are torn or damaged and are dropped",
          file,
          length - pos,
          pos);
      out.truncate(pos);
      out.force();
    }
    size = pos;
  }

  private void record(Change change) {
    if (change.spec() != null) {
      stored.put(keyOf(change), change.spec());
    } else {
      stored.remove(keyOf(change));
    }
  }

  /**
   * Queues a change; the future completes (on the writer) once it is durable and in force: true, or
   * false for a removal that found nothing. Fails with {@link ErrorCode#TOO_MANY_BINDINGS} for a
   * put of a new binding past the limit, {@link ErrorCode#BINDING_BACKPRESSURE} when the queue is
   * full, {@link ErrorCode#BROKER_CLOSED} when closed, or the disk's error.
   */
  CompletableFuture<Boolean> submit(Change change) {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    if (closed) {
      return CompletableFuture.failedFuture(SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    }
    if (!queue.offer(new Pending(change, done))) {
      return CompletableFuture.failedFuture(
          SwitchboardException.of(ErrorCode.BINDING_BACKPRESSURE, MAX_QUEUED));
    }
    if (closed) {
      failQueued(); // raced with close: nobody writes any more
    }
    return done;
  }

  private void run() {
    List<Pending> batch = new ArrayList<>();
    while (!closed) {
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null || first == CLOSE) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, 1_023);
        batch.remove(CLOSE);
        writeBatch(batch);
      } catch (InterruptedException e) {
        break;
      } finally {
        batch.clear();
      }
    }
    failQueued();
  }

  private void writeBatch(List<Pending> batch) {
    List<Pending> accepted = new ArrayList<>(batch.size());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      Map<String, Boolean> present = new java.util.HashMap<>();
      int count = stored.size();
      for (Pending p : batch) {
        Change c = p.change();
        if (broken != null) {
          p.done().completeExceptionally(broken);
          continue;
        }
        boolean exists = present.computeIfAbsent(keyOf(c), stored::containsKey);
        if (c.spec() == null && !exists) {
          p.done().complete(false); // nothing to remove
          continue;
        }
        if (c.spec() != null && !exists && count >= maxBindings) {
          p.done()
              .completeExceptionally(
                  SwitchboardException.of(ErrorCode.TOO_MANY_BINDINGS, maxBindings));
          continue;
        }
        count += c.spec() == null ? -1 : exists ? 0 : 1;
        present.put(keyOf(c), c.spec() != null);
        byte[] json = JSON.writeValueAsBytes(c);
        CRC32C crc = new CRC32C();
        crc.update(json);
        ByteBuffer head = ByteBuffer.allocate(8).putInt(json.length).putInt((int) crc.getValue());
        bytes.write(head.array());
        bytes.write(json);
        accepted.add(p);
      }
      if (accepted.isEmpty()) {
        return;
      }
      out.write(ByteBuffer.wrap(bytes.toByteArray()), size);
      out.force();
      size += bytes.size();
      records += accepted.size();
    } catch (IOException | RuntimeException e) {
      SwitchboardException failure =
          e instanceof SwitchboardException se
              ? se
              : SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, file, e.getMessage());
      // The file may hold part of the batch past {@code size}, and a crash could keep it: cut it
      // durably. If even that fails, nothing more is acknowledged (not even "nothing to remove"),
      // since the disk may yet keep a change its caller was told failed.
      try {
        out.truncate(size);
        out.force();
      } catch (IOException | RuntimeException cut) {
        broken = failure;
        LOG.error("SB-BIND-3 {} cannot be written; bindings are read-only until restart", file);
      }
      for (Pending p : accepted) {
        p.done().completeExceptionally(failure);
      }
      return;
    }
    for (int i = 0; i < accepted.size(); i++) {
      Pending p = accepted.get(i);
      record(p.change());
      try {
        apply.accept(p.change());
        p.done().complete(true);
      } catch (RuntimeException e) {
        p.done().completeExceptionally(e);
      }
    }
    compactIfWorthIt();
  }

  /**
   * Compacts when most records are superseded. A failure leaves the log as it was or compacted (the
   * rename is atomic), both holding the same bindings; appends go on at its end.
   */
  private void compactIfWorthIt() {
    if (records <= 2L * stored.size() + compactSlack) {
      return;
    }
    try {
      compact();
    } catch (IOException | RuntimeException e) {
      LOG.warn("SB-BIND-2 could not compact {}: {}", file, e.toString());
    }
  }

  /** Rewrites the log with one put per binding, atomically. */
  private void compact() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (BindingSpec spec : stored.values()) {
      byte[] json = JSON.writeValueAsBytes(Change.put(spec));
      CRC32C crc = new CRC32C();
      crc.update(json);
      bytes.write(ByteBuffer.allocate(8).putInt(json.length).putInt((int) crc.getValue()).array());
      bytes.write(json);
    }
    closeFile();
    try {
      io.writeAtomically(file, ByteBuffer.wrap(bytes.toByteArray()));
    } finally {
      // The old log or the new one, whichever the failure left: both hold what is stored.
      out = io.open(file, true);
      size = out.size();
      records = size == bytes.size() ? stored.size() : records;
    }
  }

  private void failQueued() {
    Pending p;
    while ((p = queue.poll()) != null) {
      if (p == CLOSE) {
        continue;
      }
      p.done().completeExceptionally(SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    }
  }

  private void closeFile() {
    if (out != null) {
      try {
        out.close();
      } catch (IOException e) {
        LOG.debug("closing {}: {}", file, e.toString());
      }
      out = null;
    }
  }

  private static String key(String owner, String name) {
    return owner + '\u0000' + name;
  }

  /** Stops the writer after the batch it is writing; what is still queued fails. */
  @Override
  public void close() {
    closed = true;
    queue.offer(CLOSE); // full: the writer is busy, and sees closed after its batch
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failQueued();
    closeFile();
  }
}
