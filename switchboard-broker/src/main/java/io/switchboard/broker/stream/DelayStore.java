package io.switchboard.broker.stream;

import io.switchboard.broker.StoredHeaders;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCategory;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.AppendResult;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stream's delayed messages, kept on disk until they are due, then released into the stream.
 *
 * <p>Layout: a hierarchical timing wheel of bucket logs under the stream's {@code delayed/}
 * directory. A bucket is a {@link PartitionLog} named {@code L<level>-<startMs>} holding the
 * messages due within {@code [start, start + width)}, with widths of 1 s, 1 min, 1 h and 1 day by
 * level. A message goes to the coarsest level its delay reaches. Shortly before a coarse bucket
 * starts, its messages are cascaded into buckets of the next finer level; a 1 s bucket is released
 * once its start has passed, each message when its own time comes. Memory holds the open buckets
 * and one cursor per bucket being released, never an index of all pending messages.
 *
 * <p>Records: the message as a stream stores it (subject, message id and reply-to as system
 * headers), with the record timestamp set to the due time.
 *
 * <p>Crash safety: bucket logs recover like any partition log, and take the stream's fsync policy,
 * so a delayed publish is as durable when acknowledged as a direct one. A cascade forces its
 * targets before deleting its source; a bucket is deleted once every release is acknowledged. A
 * crash between those steps repeats work: every delayed message carries a message id (the
 * publisher's, else one made up at acceptance) and its release is de-duplicated within the stream's
 * duplicate window, so a repeat is not stored twice unless that window is off.
 *
 * <p>Thread safety: every method is synchronized; {@link #tick} runs on the broker's delay thread
 * and may wait there for releases.
 */
public final class DelayStore implements AutoCloseable {
  /** Header with the time a message is due, in epoch milliseconds (decimal ASCII). */
  public static final String DELIVER_AT_HEADER = StoredHeaders.DELIVER_AT;

  /** Header with a delay in milliseconds from the publish (decimal ASCII). */
  public static final String DELAY_HEADER = StoredHeaders.DELAY;

  /** Bucket widths by level: 1 s, 1 min, 1 h, 1 day. */
  static final long[] LEVEL_MS = {1_000, 60_000, 3_600_000, 86_400_000};

  /**
   * 90 days: bounds the number of day buckets (and so open files) a stream can have; longer waits
   * belong in a scheduler, not a message broker.
   */
  public static final long MAX_DELAY_MS = 90L * 86_400_000;

  /** Releases waited for together: bounds the tick's memory and a retry's repeated work. */
  static final int RELEASE_CHUNK = 1024;

  /** How long a tick waits for a chunk of releases before retrying on the next tick. */
  public static final long RELEASE_WAIT_MS = 10_000;

  private static final Logger LOG = LoggerFactory.getLogger(DelayStore.class);

  /** Publishes a due message into the stream, bypassing the delay check. */
  @FunctionalInterface
  public interface Releaser {
    CompletableFuture<PublishAck> release(Message message, String messageId);
  }

  /** One bucket: level and start time. Ordered by start, then coarsest first. */
  record Bucket(int level, long startMs) implements Comparable<Bucket> {
    static Bucket parse(String name) {
      if (!name.startsWith("L") || name.indexOf('-') < 2) {
        return null;
      }
      try {
        int level = Integer.parseInt(name.substring(1, name.indexOf('-')));
        long start = Long.parseLong(name.substring(name.indexOf('-') + 1));
        return level >= 0 && level < LEVEL_MS.length ? new Bucket(level, start) : null;
      } catch (NumberFormatException e) {
        return null;
      }
    }

    String dirName() {
      return "L" + level + "-" + startMs;
    }

    @Override
    public int compareTo(Bucket o) {
      int c = Long.compare(startMs, o.startMs);
      return c != 0 ? c : Integer.compare(o.level, level);
    }
  }

  private final String stream;
  private final Path dir;
  private final LogConfig logConfig;
  private final int maxMessageBytes;
  private final StorageIO io;
  private final Clock clock;
  private final Releaser releaser;
  private final TreeMap<Bucket, PartitionLog> buckets = new TreeMap<>();

  /** Next offset to release, for 1 s buckets being released. */
  private final Map<Bucket, Long> cursors = new HashMap<>();

  private long released;
  private long dropped;
  private boolean closed;

  private DelayStore(
      String stream,
      Path dir,
      LogConfig logConfig,
      int maxMessageBytes,
      StorageIO io,
      Clock clock,
      Releaser releaser) {
    this.stream = stream;
    this.dir = dir;
    this.logConfig = logConfig;
    this.maxMessageBytes = maxMessageBytes;
    this.io = io;
    this.clock = clock;
    this.releaser = releaser;
  }

  /**
   * Opens (recovering) the buckets under {@code dir}.
   *
   * @param fsync the stream's policy, applied to every bucket
   * @param maxBatchBytes the stream's largest batch
   */
  public static DelayStore open(
      String stream,
      Path dir,
      FsyncPolicy fsync,
      int maxMessageBytes,
      int maxBatchBytes,
      Clock clock,
      Releaser releaser) {
    return open(
        stream, dir, fsync, maxMessageBytes, maxBatchBytes, NioStorageIO.INSTANCE, clock, releaser);
  }

  /**
   * Opens (recovering) the buckets under {@code dir}, every file through {@code io}.
   *
   * @param fsync the stream's policy, applied to every bucket
   * @param maxBatchBytes the stream's largest batch
   */
  public static DelayStore open(
      String stream,
      Path dir,
      FsyncPolicy fsync,
      int maxMessageBytes,
      int maxBatchBytes,
      StorageIO io,
      Clock clock,
      Releaser releaser) {
    LogConfig config = LogConfig.defaults(fsync).withMaxBatchBytes(maxBatchBytes);
    DelayStore store = new DelayStore(stream, dir, config, maxMessageBytes, io, clock, releaser);
    try {
      for (Path child : io.listDirectories(dir)) {
        Bucket b = Bucket.parse(child.getFileName().toString());
        if (b != null) {
          store.buckets.put(b, store.openLog(b));
        }
      }
    } catch (IOException e) {
      store.close();
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    return store;
  }

  /**
   * When {@code message} is due: the time its delay headers name, or -1 when it has none or that
   * time has come.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_DELAY} for a header that is not a
   *     non-negative decimal, both headers at once, or a time more than {@link #MAX_DELAY_MS} ahead
   */
  public static long dueTime(Message message, long nowMs) {
    byte[] at = message.header(DELIVER_AT_HEADER);
    byte[] delay = message.header(DELAY_HEADER);
    if (at == null && delay == null) {
      return -1;
    }
    if (at != null && delay != null) {
      throw invalid(message, "give " + DELIVER_AT_HEADER + " or " + DELAY_HEADER + ", not both");
    }
    long due =
        at != null
            ? parse(message, DELIVER_AT_HEADER, at)
            : nowMs + parse(message, DELAY_HEADER, delay);
    if (due - nowMs > MAX_DELAY_MS) {
      throw invalid(message, "due more than " + MAX_DELAY_MS / 86_400_000 + " days ahead");
    }
    return due > nowMs ? due : -1;
  }

  private static long parse(Message m, String header, byte[] value) {
    String text = new String(value, StandardCharsets.US_ASCII);
    try {
      long v = Long.parseLong(text);
      if (v >= 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw invalid(m, header + " must be a non-negative decimal number, not \"" + text + "\"");
  }

  private static SwitchboardException invalid(Message m, String why) {
    return SwitchboardException.of(ErrorCode.INVALID_DELAY, m.subject(), why);
  }

  /**
   * Keeps {@code message} until {@code dueMs}. The future completes once it is as durable as the
   * stream's fsync policy asks, with offset -1 and the due time.
   *
   * @param messageId the publisher's id, or {@code null} for one made up here
   * @param partition the partition it is bound for, reported in the acknowledgement
   */
  public synchronized CompletableFuture<PublishAck> add(
      Message message, String messageId, long dueMs, int partition) {
    try {
      if (closed) {
        throw SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition);
      }
      if (message.payload().length > maxMessageBytes) {
        throw SwitchboardException.of(
            ErrorCode.MESSAGE_TOO_LARGE, message.payload().length, stream, maxMessageBytes);
      }
      String id = messageId != null ? messageId : "sb-delayed-" + UUID.randomUUID();
      long now = clock.nowMs();
      int level = 0;
      while (level + 1 < LEVEL_MS.length && dueMs - now >= LEVEL_MS[level + 1]) {
        level++;
      }
      PartitionLog log = bucket(level, dueMs);
      CompletableFuture<AppendResult> stored = log.append(record(message, id, dueMs).build());
      // Manual flush mode: under ALWAYS the append completes when this forces it, and fails
      // when the force fails, which the acknowledgement must then do too.
      log.doFlushWork();
      Durability durability =
          logConfig.fsync() == FsyncPolicy.ALWAYS ? Durability.FSYNCED : Durability.WRITTEN;
      return stored.thenApply(r -> new PublishAck(stream, partition, -1, durability, false, dueMs));
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static RecordBatchBuilder record(Message m, String id, long dueMs) {
    List<Header> headers = new ArrayList<>(m.headers().size() + 3);
    headers.add(
        new Header(
            RecordBatchDescriptor.SUBJECT_HEADER, m.subject().getBytes(StandardCharsets.UTF_8)));
    headers.add(new Header(PartitionAgent.MESSAGE_ID_HEADER, id.getBytes(StandardCharsets.UTF_8)));
    if (m.replyTo() != null) {
      headers.add(
          new Header(PartitionAgent.REPLY_TO_HEADER, m.replyTo().getBytes(StandardCharsets.UTF_8)));
    }
    for (Header h : m.headers()) {
      // The relative delay becomes the absolute time, so a released copy is never delayed again.
      if (!h.key().equals(DELAY_HEADER) && !h.key().equals(DELIVER_AT_HEADER)) {
        headers.add(h);
      }
    }
    headers.add(
        new Header(DELIVER_AT_HEADER, Long.toString(dueMs).getBytes(StandardCharsets.US_ASCII)));
    return new RecordBatchBuilder(Compression.NONE)
        .appendBytes(dueMs, m.key(), m.payload(), headers);
  }

  private PartitionLog append(int level, long dueMs, RecordBatchBuilder record) {
    PartitionLog log = bucket(level, dueMs);
    log.append(record.build());
    return log;
  }

  private PartitionLog bucket(int level, long dueMs) {
    long width = LEVEL_MS[level];
    Bucket b = new Bucket(level, Math.floorDiv(dueMs, width) * width);
    PartitionLog log = buckets.get(b);
    if (log == null) {
      log = openLog(b);
      buckets.put(b, log);
    }
    return log;
  }

  private PartitionLog openLog(Bucket b) {
    return PartitionLog.open(
        dir.resolve(b.dirName()), logConfig, new PartitionLog.Options(io, clock, true));
  }

  /**
   * One pass (the broker's delay thread): cascades coarse buckets about to start, releases due
   * messages, and forces buckets under the interval policy.
   *
   * @return messages cascaded or released
   */
  public synchronized int tick() {
    if (closed) {
      return 0;
    }
    long now = clock.nowMs();
    int work = 0;
    try {
      work += cascade(now);
      work += release(now);
      for (PartitionLog log : buckets.values()) {
        log.doFlushWork();
      }
    } catch (SwitchboardException e) {
      // Storage trouble: leave everything in place and try again on the next tick.
      LOG.warn(
          "SB-BROKER-2040 stream {}: delayed delivery pass failed: {}", stream, e.getMessage());
    }
    return work;
  }

  /** Moves every coarse bucket that starts within one finer width down a level. */
  private int cascade(long now) {
    int moved = 0;
    for (Bucket b : List.copyOf(buckets.keySet())) {
      if (b.level() == 0 || b.startMs() - LEVEL_MS[b.level() - 1] > now) {
        continue;
      }
      PartitionLog source = buckets.get(b);
      List<PartitionLog> targets = new ArrayList<>();
      long offset = source.logStartOffset();
      List<Record> chunk;
      while (!(chunk = records(source, offset, RELEASE_CHUNK)).isEmpty()) {
        for (Record r : chunk) {
          PartitionLog t = append(b.level() - 1, r.timestamp(), copy(r));
          if (!targets.contains(t)) {
            targets.add(t);
          }
          moved++;
          offset = r.offset() + 1;
        }
      }
      // The copies must be on disk before the source goes, whatever the stream's policy.
      for (PartitionLog t : targets) {
        t.doFlushWork();
        if (logConfig.fsync() != FsyncPolicy.NEVER) {
          t.force();
        }
      }
      drop(b);
    }
    return moved;
  }

  private static RecordBatchBuilder copy(Record r) {
    return new RecordBatchBuilder(Compression.NONE)
        .appendBytes(r.timestamp(), r.keyBytes(), r.valueBytes(), r.headers());
  }

  /** Releases the due messages of every started 1 s bucket, in each bucket's append order. */
  private int release(long now) {
    int count = 0;
    for (Bucket b : List.copyOf(buckets.keySet())) {
      if (b.startMs() > now) {
        break;
      }
      if (b.level() != 0) {
        continue;
      }
      PartitionLog log = buckets.get(b);
      long cursor = cursors.getOrDefault(b, log.logStartOffset());
      boolean blocked = false;
      while (!blocked && cursor < log.logEndOffset()) {
        List<Record> chunk = records(log, cursor, RELEASE_CHUNK);
        if (chunk.isEmpty()) {
          break;
        }
        List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        for (Record r : chunk) {
          if (r.timestamp() > now) {
            blocked = true; // its turn comes within this second; later ones wait behind it
            break;
          }
          acks.add(releaser.release(message(r), messageId(r)));
          offsets.add(r.offset());
        }
        int retryFrom = awaitReleases(acks);
        count += retryFrom;
        if (retryFrom < acks.size()) {
          // Retried from there on the next tick; de-duplication absorbs what is repeated.
          cursors.put(b, offsets.get(retryFrom));
          return count;
        }
        if (!offsets.isEmpty()) {
          cursor = offsets.get(offsets.size() - 1) + 1;
        }
        cursors.put(b, cursor);
      }
      if (!blocked && cursor >= log.logEndOffset()) {
        drop(b);
      }
    }
    return count;
  }

  /**
   * Waits for a chunk of releases. A release refused for good (its stream deleted, its subject no
   * longer captured, too large) is dropped with a warning; a retriable failure or a timeout ends
   * the pass.
   *
   * @return the index of the first release to retry; the chunk's size when none
   */
  private int awaitReleases(List<CompletableFuture<PublishAck>> acks) {
    for (int i = 0; i < acks.size(); i++) {
      try {
        acks.get(i).get(RELEASE_WAIT_MS, TimeUnit.MILLISECONDS);
        released++;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return i;
      } catch (TimeoutException e) {
        return i;
      } catch (ExecutionException e) {
        Throwable cause =
            e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
        if (cause instanceof SwitchboardException se
            && se.code().category() != ErrorCategory.RETRIABLE) {
          dropped++;
          LOG.warn(
              "SB-BROKER-2041 stream {}: a delayed message was dropped at release: {}",
              stream,
              se.getMessage());
        } else {
          return i;
        }
      }
    }
    return acks.size();
  }

  private static Message message(Record r) {
    String subject = "";
    String replyTo = null;
    List<Header> headers = new ArrayList<>(r.headers().size());
    for (Header h : r.headers()) {
      switch (h.key()) {
        case RecordBatchDescriptor.SUBJECT_HEADER ->
            subject = new String(h.value(), StandardCharsets.UTF_8);
        case PartitionAgent.REPLY_TO_HEADER ->
            replyTo = new String(h.value(), StandardCharsets.UTF_8);
        case PartitionAgent.MESSAGE_ID_HEADER -> {
          // passed as the release's message id
        }
        default -> headers.add(h);
      }
    }
    byte[] payload = r.valueBytes();
    // Timestamp 0: the stream stamps it with the release time, when it enters the stream.
    return new Message(
        subject, r.keyBytes(), headers, payload == null ? new byte[0] : payload, 0, replyTo);
  }

  private static String messageId(Record r) {
    byte[] id = r.header(PartitionAgent.MESSAGE_ID_HEADER);
    return id == null ? null : new String(id, StandardCharsets.UTF_8);
  }

  /** Up to {@code max} records from {@code offset} on. */
  private List<Record> records(PartitionLog log, long offset, int max) {
    List<Record> out = new ArrayList<>();
    PartitionReader reader =
        new PartitionReader(log, 1 << 20, logConfig.maxBatchBytes(), PartitionReader.RETHROW);
    Record r;
    while (out.size() < max && (r = reader.next(offset, log.logEndOffset())) != null) {
      out.add(r);
      offset = r.offset() + 1;
    }
    return out;
  }

  /** Closes a bucket and deletes its files. */
  private void drop(Bucket b) {
    PartitionLog log = buckets.remove(b);
    cursors.remove(b);
    log.close();
    Path bucketDir = dir.resolve(b.dirName());
    try {
      io.deleteTree(bucketDir);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, bucketDir, e.getMessage());
    }
  }

  /** Messages held, counting a message twice while a cascade interrupted by a crash is redone. */
  public synchronized long pending() {
    long n = 0;
    for (Map.Entry<Bucket, PartitionLog> e : buckets.entrySet()) {
      PartitionLog log = e.getValue();
      n += log.logEndOffset() - cursors.getOrDefault(e.getKey(), log.logStartOffset());
    }
    return n;
  }

  /** Messages released into the stream since open. */
  public synchronized long released() {
    return released;
  }

  /** Messages dropped at release since open (their stream refused them for good). */
  public synchronized long dropped() {
    return dropped;
  }

  /** Buckets open now (tests). */
  synchronized int bucketCount() {
    return buckets.size();
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (PartitionLog log : buckets.values()) {
      log.close();
    }
    buckets.clear();
    cursors.clear();
  }
}
