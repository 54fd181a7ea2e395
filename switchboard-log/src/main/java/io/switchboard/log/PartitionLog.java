package io.switchboard.log;

import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.log.io.StorageFile;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One partition: an append-only log of {@link Segment}s in one directory.
 *
 * <p>Thread safety: thread-safe. Appends serialize on a per-log lock (the broker calls them from
 * the partition's single owner thread, so the lock is uncontended there); reads take no lock and
 * see every append that completed before they started. Retention and compaction run on their own
 * thread and take the append lock only to swap segments. With {@link FsyncPolicy#ALWAYS} a flusher
 * (a thread of a {@link LogFlusher} shared by many logs, or the caller through {@link
 * #doFlushWork()} in manual mode) forces the active segment and completes every append the force
 * covered: group commit.
 *
 * <p>Directory contents and what happens to each after a crash:
 *
 * <ul>
 *   <li>{@code <base>.log}, {@code <base>.index}: see {@link Segment}. The last segment is scanned
 *       and its torn or corrupt tail truncated unless the log was closed cleanly.
 *   <li>{@code .clean-shutdown}: written last by {@link #close()}, deleted (durably) by open. Its
 *       presence lets open trust every index file instead of scanning the last segment.
 *   <li>{@code log-start-offset}: checkpoint (offset int64, CRC-32C int32) written atomically
 *       before segments are deleted; a damaged one is ignored and the first segment's base is used.
 *   <li>{@code *.cleaned}: an unfinished compaction output, deleted. {@code *.swap}: a finished one
 *       whose swap was interrupted: renamed over its {@code .log} and its index rebuilt.
 *   <li>{@code truncate-intent}: a truncation under way (offset int64, CRC-32C int32); open
 *       finishes it before loading segments.
 *   <li>{@code next-segment.spare}: an empty file the flusher made for the next roll; deleted. A
 *       roll renames it to the new segment's name before the directory force that seals the old
 *       segment, so nothing is appended to it before that name is durable.
 * </ul>
 *
 * <p>Errors: an I/O error on a write or a failed fsync is fatal for the log ({@link
 * ErrorCode#LOG_FSYNC_FAILED}, {@link ErrorCode#LOG_IO_ERROR}): appends waiting for it fail, no
 * later append is acknowledged, and nothing is retried as if it had succeeded.
 */
public final class PartitionLog implements AutoCloseable {
  static final String CLEAN_SHUTDOWN = ".clean-shutdown";
  static final String LOG_START_CHECKPOINT = "log-start-offset";
  static final String TRUNCATE_INTENT = "truncate-intent";
  static final String CLEANED_SUFFIX = ".cleaned";
  static final String SWAP_SUFFIX = ".swap";

  /**
   * The next segment's file, made ahead of time by the flusher (empty, no name of its own yet), so
   * a roll renames it rather than creating a file on the append path. Deleted by recovery: it was
   * never anything's segment (see {@link #rollLocked}).
   */
  static final String SPARE_SEGMENT = "next-segment.spare";

  private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);

  /**
   * How the log runs its flusher.
   *
   * @param io the file layer
   * @param clock the time source
   * @param manualFlush no flusher: the caller drives {@link #doFlushWork()} (tests)
   * @param flusher the shared flusher to register with; null (and not manual) for a private one
   *     with one thread, closed with the log
   */
  public record Options(StorageIO io, Clock clock, boolean manualFlush, LogFlusher flusher) {
    /** With a private flusher unless {@code manualFlush}. */
    public Options(StorageIO io, Clock clock, boolean manualFlush) {
      this(io, clock, manualFlush, null);
    }

    public static Options defaults() {
      return new Options(NioStorageIO.INSTANCE, Clock.SYSTEM, false);
    }
  }

  private record PendingFlush(
      long endOffset, AppendResult result, CompletableFuture<AppendResult> future) {}

  final Path dir;
  final LogConfig config;
  final StorageIO io;
  final Clock clock;
  final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
  final ReentrantLock appendLock = new ReentrantLock();
  final ReentrantLock maintenanceLock = new ReentrantLock();

  /** Appends waiting for an fsync, in offset order. Guarded by appendLock. */
  private final ArrayDeque<PendingFlush> pending = new ArrayDeque<>();

  private volatile Segment active;
  private volatile long logStartOffset;
  private volatile long logEndOffset;
  private volatile long durableOffset;
  private volatile SwitchboardException failure;
  private volatile boolean closed;

  /** Told after each append that readers can see it (tail readers, consumers that push). */
  private final List<Runnable> appendListeners = new CopyOnWriteArrayList<>();

  private volatile long lastIntervalFlushNs;

  /**
   * Set when {@link #advanceLogStart} moved the start in memory and the checkpoint does not hold it
   * yet; the flusher writes it at most every {@code fsyncIntervalMs} ({@link #saveLogStart}).
   */
  private volatile boolean logStartUnsaved;

  private volatile long lastCheckpointNs;

  /** The start the checkpoint on disk holds (or recovery found). Guarded by maintenanceLock. */
  private long savedStart;

  /** Set while this log waits in its flusher's queue, so it is queued once. */
  final AtomicBoolean flushQueued = new AtomicBoolean();

  /** The flusher this log is registered with, or null in manual mode. */
  private final LogFlusher flusher;

  private final LogFlusher.Shard flusherShard;

  /** Whether {@link #flusher} is this log's own, to close with it. */
  private final boolean ownsFlusher;

  /** The prepared next segment file ({@link #SPARE_SEGMENT}), or null. Guarded by appendLock. */
  private StorageFile spare;

  /** Whether a flush pass should prepare a spare: none is ready and the last try did not fail. */
  private volatile boolean spareWanted = true;

  /** Rolls that took a prepared spare (tests). Guarded by appendLock. */
  private long sparesTaken;

  private PartitionLog(Path dir, LogConfig config, Options options) throws IOException {
    this.dir = dir;
    this.config = config;
    this.io = options.io();
    this.clock = options.clock();
    recover();
    this.lastIntervalFlushNs = clock.nanoTime();
    this.lastCheckpointNs = lastIntervalFlushNs;
    if (options.manualFlush()) {
      flusher = null;
      ownsFlusher = false;
    } else if (options.flusher() != null) {
      flusher = options.flusher();
      ownsFlusher = false;
    } else {
      flusher = LogFlusher.start("sb-flush-" + dir.getFileName(), 1);
      ownsFlusher = true;
    }
    flusherShard = flusher == null ? null : flusher.register(this);
  }

  /** Opens (recovering if needed) or creates the log in {@code dir} on the real file system. */
  public static PartitionLog open(Path dir, LogConfig config) {
    return open(dir, config, Options.defaults());
  }

  /**
   * Opens or creates the log in {@code dir}.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_IO_ERROR} when the directory cannot be read
   */
  public static PartitionLog open(Path dir, LogConfig config, Options options) {
    try {
      return new PartitionLog(dir, config, options);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    }
  }

  // ---------------------------------------------------------------- recovery

  private void recover() throws IOException {
    long checkpoint = LogRecovery.recover(dir, config, io, clock, segments);
    active = segments.lastEntry().getValue();
    // What survived a process crash may still be only in the page cache: make it durable now, so
    // that everything below logEndOffset is durable from the start.
    active.force();
    logStartOffset = Math.max(checkpoint, segments.firstKey());
    savedStart = logStartOffset;
    logEndOffset = active.nextOffset();
    durableOffset = logEndOffset;
  }

  // ---------------------------------------------------------------- append and flush

  /**
   * Appends one record batch, assigning its offsets. Takes ownership of {@code batch}: its base
   * offset is overwritten in place (a read-only buffer is copied first).
   *
   * <p>The future completes when the batch is durable under the log's fsync policy: after the fsync
   * that covers it for {@link FsyncPolicy#ALWAYS} (on the flusher's thread), at once otherwise.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_INVALID_BATCH}, {@link
   *     ErrorCode#LOG_BATCH_TOO_LARGE}, {@link ErrorCode#LOG_DECOMPRESSION_LIMIT}, {@link
   *     ErrorCode#LOG_UNSUPPORTED_COMPRESSION} for a bad batch; {@link ErrorCode#LOG_CLOSED};
   *     {@link ErrorCode#LOG_FSYNC_FAILED} or {@link ErrorCode#LOG_IO_ERROR} once the log failed.
   *     The future fails with the last two when the fsync meant to cover it fails.
   */
  public CompletableFuture<AppendResult> append(ByteBuffer batch) {
    if (batch.isReadOnly()) {
      batch = ByteBuffer.allocate(batch.remaining()).put(batch.duplicate()).flip();
    }
    RecordBatch view = RecordBatch.wrap(batch);
    view.validateForAppend(config.maxBatchBytes());
    CompletableFuture<AppendResult> future;
    boolean flushInline;
    appendLock.lock();
    try {
      ensureWritable();
      long now = clock.nowMs();
      Segment seg = active;
      if (shouldRoll(seg, view, now)) {
        seg = rollLocked(now);
      }
      long base = logEndOffset;
      RecordBatch.setBaseOffset(batch, base);
      try {
        seg.append(batch, view, config.indexIntervalBytes());
      } catch (IOException e) {
        throw failLocked(e, ErrorCode.LOG_IO_ERROR);
      }
      logEndOffset = view.nextOffset();
      AppendResult result = new AppendResult(base, view.lastOffset(), view.maxTimestamp());
      if (config.fsync() != FsyncPolicy.ALWAYS) {
        future = CompletableFuture.completedFuture(result);
        flushInline = false;
      } else {
        future = new CompletableFuture<>();
        pending.add(new PendingFlush(logEndOffset, result, future));
        flushInline = pending.size() >= config.maxPendingFlushes();
      }
    } finally {
      appendLock.unlock();
    }
    if (flushInline) {
      flushPending();
    } else if (flusherShard != null && !future.isDone()) {
      flusherShard.wake(this);
    }
    if (config.fsync() != FsyncPolicy.ALWAYS) {
      appended(); // under ALWAYS readers see records once forced: the flush tells them
    }
    return future;
  }

  /**
   * Calls {@code listener} after every append from now on, on the appending thread, once the new
   * records are readable: it must be quick and must not block (a wake-up, typically). Returns what
   * stops it.
   */
  public AutoCloseable onAppend(Runnable listener) {
    appendListeners.add(listener);
    return () -> appendListeners.remove(listener);
  }

  private void appended() {
    for (Runnable r : appendListeners) {
      try {
        r.run();
      } catch (RuntimeException e) {
        LOG.warn("append listener of {} failed", dir, e);
      }
    }
  }

  private boolean shouldRoll(Segment seg, RecordBatch view, long nowMs) {
    if (seg.size() == 0) {
      return false;
    }
    return seg.size() + (long) view.sizeInBytes() > config.segmentBytes()
        || nowMs - seg.createdMs() >= config.segmentMs()
        || logEndOffset + view.lastOffsetDelta() - seg.baseOffset >= Integer.MAX_VALUE;
  }

  /**
   * Seals the active segment and starts a new one. Caller holds appendLock.
   *
   * <p>With a spare ready (made by the flusher, {@link #prepareSpare}) the new segment is that file
   * renamed, and the directory force that makes the sealed segment's index durable makes the new
   * name durable too, before anything is appended to it: one file creation and one directory force
   * fewer on the append path. A crash before that force leaves the spare under its own name, which
   * recovery deletes, and the sealed segment as the last one (complete: it was forced first).
   */
  private Segment rollLocked(long nowMs) {
    Segment old = active;
    try {
      // Sealed segments are trusted after a crash, so they are made durable before the next
      // segment exists, whatever the fsync policy.
      old.force();
      StorageFile prepared = spare;
      spare = null;
      Segment next;
      if (prepared != null) {
        try {
          io.move(
              dir.resolve(SPARE_SEGMENT),
              dir.resolve(Segment.name(logEndOffset, Segment.LOG_SUFFIX)));
        } catch (IOException e) {
          closeQuietly(prepared);
          throw e;
        }
        next = Segment.adopt(dir, logEndOffset, prepared, nowMs);
        sparesTaken++;
        old.writeIndex(io); // forces the directory: the new segment's name is durable from here
      } else {
        old.writeIndex(io);
        next = Segment.create(io, dir, logEndOffset, nowMs);
        io.forceDirectory(dir);
      }
      segments.put(next.baseOffset, next);
      active = next;
      spareWanted = true;
      if (flusherShard != null) {
        flusherShard.wake(this); // prepare the one after
      }
      return next;
    } catch (IOException e) {
      throw failLocked(e, ErrorCode.LOG_IO_ERROR);
    }
  }

  /**
   * Makes the next segment's file ahead of time, off the append path (the flusher's thread, or the
   * caller of {@link #doFlushWork()} in manual mode). A failure only means the next roll creates
   * its file itself.
   */
  private void prepareSpare() {
    if (!spareWanted || closed || failure != null) {
      return;
    }
    Path path = dir.resolve(SPARE_SEGMENT);
    StorageFile file;
    try {
      file = io.open(path, true);
      file.truncate(0);
    } catch (IOException | RuntimeException e) {
      spareWanted = false; // the next roll tries again
      LOG.debug("{}: preparing the next segment failed; the next roll makes it", dir, e);
      return;
    }
    appendLock.lock();
    try {
      if (spare == null && !closed && failure == null) {
        spare = file;
        spareWanted = false;
        return;
      }
    } finally {
      appendLock.unlock();
    }
    closeQuietly(file);
  }

  /** Rolls that took a prepared spare so far (tests). */
  long sparesTaken() {
    appendLock.lock();
    try {
      return sparesTaken;
    } finally {
      appendLock.unlock();
    }
  }

  private void closeQuietly(StorageFile file) {
    try {
      file.close();
    } catch (IOException | RuntimeException e) {
      LOG.debug("{}: closing the spare segment file failed", dir, e);
    }
  }

  /** Seals the active segment now, if it holds anything. */
  public void roll() {
    appendLock.lock();
    try {
      ensureWritable();
      if (active.size() > 0) {
        rollLocked(clock.nowMs());
      }
    } finally {
      appendLock.unlock();
    }
  }

  /**
   * One duty cycle of the flusher, for manual mode ({@link Options#manualFlush()}); a dedicated
   * flusher calls it itself. Under {@link FsyncPolicy#ALWAYS} forces once for every append waiting
   * and completes them; under {@link FsyncPolicy#INTERVAL} forces when the interval has passed.
   *
   * @return how much work was done (appends completed or forces made); 0 when idle
   */
  public int doFlushWork() {
    if (closed) {
      return 0; // close() flushes what is left itself
    }
    int work =
        switch (config.fsync()) {
          case ALWAYS -> flushPending();
          case INTERVAL -> flushOnInterval();
          case NEVER -> 0;
        };
    work += saveLogStart();
    if (spareWanted) {
      prepareSpare(); // after the flush, so group commit never waits for it
    }
    return work;
  }

  private int flushPending() {
    long target;
    Segment seg;
    appendLock.lock();
    try {
      if (pending.isEmpty() || failure != null) {
        return 0;
      }
      target = logEndOffset;
      seg = active;
    } finally {
      appendLock.unlock();
    }
    try {
      seg.force();
    } catch (IOException e) {
      fail(e, ErrorCode.LOG_FSYNC_FAILED);
      return 1;
    }
    List<PendingFlush> done = new ArrayList<>();
    appendLock.lock();
    try {
      if (failure != null) {
        return 1;
      }
      durableOffset = Math.max(durableOffset, target);
      while (!pending.isEmpty() && pending.peekFirst().endOffset() <= target) {
        done.add(pending.pollFirst());
      }
    } finally {
      appendLock.unlock();
    }
    for (PendingFlush p : done) {
      p.future().complete(p.result());
    }
    appended();
    return done.size();
  }

  /**
   * Forces everything appended so far to stable storage now, whatever the fsync policy: for a
   * caller about to delete the only other copy of what it appended.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_CLOSED}, {@link ErrorCode#LOG_FSYNC_FAILED}
   */
  public void force() {
    long target;
    Segment seg;
    appendLock.lock();
    try {
      ensureWritable();
      target = logEndOffset;
      seg = active;
    } finally {
      appendLock.unlock();
    }
    try {
      seg.force();
    } catch (IOException e) {
      throw fail(e, ErrorCode.LOG_FSYNC_FAILED);
    }
    durableOffset = Math.max(durableOffset, target);
  }

  private int flushOnInterval() {
    long nowNs = clock.nanoTime();
    if (nowNs - lastIntervalFlushNs < TimeUnit.MILLISECONDS.toNanos(config.fsyncIntervalMs())) {
      return 0;
    }
    lastIntervalFlushNs = nowNs;
    long target = logEndOffset;
    Segment seg = active;
    if (target == durableOffset || failure != null) {
      return 0;
    }
    try {
      seg.force();
    } catch (IOException e) {
      fail(e, ErrorCode.LOG_FSYNC_FAILED);
      return 1;
    }
    durableOffset = Math.max(durableOffset, target);
    return 1;
  }

  /**
   * How long until an interval flush or a log-start checkpoint may be due; {@link Long#MAX_VALUE}
   * when neither is waiting.
   */
  long nanosUntilIntervalFlush() {
    if (closed || failure != null) {
      return Long.MAX_VALUE;
    }
    long intervalNs = TimeUnit.MILLISECONDS.toNanos(config.fsyncIntervalMs());
    long now = clock.nanoTime();
    long until = Long.MAX_VALUE;
    if (config.fsync() == FsyncPolicy.INTERVAL) {
      until = lastIntervalFlushNs + intervalNs - now;
    }
    if (logStartUnsaved) {
      until = Math.min(until, lastCheckpointNs + intervalNs - now);
    }
    return until;
  }

  /** Whether the flusher should visit this log on every pass (interval force or checkpoint). */
  boolean wantsPeriodicFlush() {
    return config.fsync() == FsyncPolicy.INTERVAL || logStartUnsaved;
  }

  /**
   * Writes the log-start checkpoint that {@link #advanceLogStart} left unsaved, once {@code
   * fsyncIntervalMs} has passed since the last one (flusher thread). Gives up for this pass when
   * maintenance holds the log; a failed write is logged and tried again next interval (the start
   * only comes back after a crash, nothing is lost).
   */
  private int saveLogStart() {
    if (!logStartUnsaved) {
      return 0;
    }
    long nowNs = clock.nanoTime();
    if (nowNs - lastCheckpointNs < TimeUnit.MILLISECONDS.toNanos(config.fsyncIntervalMs())) {
      return 0;
    }
    if (!maintenanceLock.tryLock()) {
      return 0;
    }
    try {
      if (closed || !logStartUnsaved) {
        return 0;
      }
      lastCheckpointNs = nowNs;
      logStartUnsaved = false; // before reading the start: a later move marks it again
      long start = logStartOffset;
      // Never past what is on stable storage: a power cut must not leave a start past the end.
      long save = Math.min(start, durableOffset);
      if (save < start) {
        logStartUnsaved = true;
      }
      if (save <= savedStart) {
        return 0;
      }
      LogRecovery.writeCheckpoint(io, dir, save);
      savedStart = save;
      return 1;
    } catch (IOException | RuntimeException e) {
      logStartUnsaved = true;
      LOG.warn("SB-LOG-1009 {}: log-start checkpoint not written; tried again later", dir, e);
      return 1;
    } finally {
      maintenanceLock.unlock();
    }
  }

  /**
   * close() sets the flag, then takes the maintenance lock before closing files, so a maintenance
   * pass that saw the log open finishes before its files close.
   */
  private void ensureOpen() {
    if (closed) {
      throw SwitchboardException.of(ErrorCode.LOG_CLOSED, dir);
    }
  }

  private void ensureWritable() {
    ensureOpen();
    SwitchboardException f = failure;
    if (f != null) {
      throw f;
    }
  }

  private SwitchboardException fail(IOException e, ErrorCode code) {
    appendLock.lock();
    try {
      return failLocked(e, code);
    } finally {
      appendLock.unlock();
    }
  }

  /** Marks the log failed and fails every waiting append. Caller holds appendLock. */
  private SwitchboardException failLocked(IOException e, ErrorCode code) {
    if (failure == null) {
      failure = SwitchboardException.wrap(e, code, dir, e.getMessage());
      LOG.error("SB-LOG-1000 {}: log failed; no further appends are accepted", dir, e);
    }
    for (PendingFlush p : pending) {
      p.future().completeExceptionally(failure);
    }
    pending.clear();
    return failure;
  }

  /**
   * Removes every record at or after {@code offset}; replication uses it to drop a suffix that was
   * never committed. No batch may straddle {@code offset}. Appends waiting for an fsync past it
   * fail. Journaled through {@code truncate-intent}: after a crash the log is either untouched or
   * truncated, never in between.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} when a batch straddles the
   *     offset, {@link ErrorCode#LOG_OFFSET_OUT_OF_RANGE} below the log start
   */
  public void truncateTo(long offset) {
    maintenanceLock.lock();
    appendLock.lock();
    try {
      ensureWritable();
      if (offset >= logEndOffset) {
        return;
      }
      if (offset < logStartOffset) {
        throw SwitchboardException.of(
            ErrorCode.LOG_OFFSET_OUT_OF_RANGE, offset, logStartOffset, logEndOffset);
      }
      Segment keep = segments.floorEntry(offset).getValue();
      int cut = keep.positionOf(offset);
      if (cut < keep.size()) {
        ByteBuffer header = ByteBuffer.allocate(8);
        keep.read(header, cut);
        if (header.getLong(0) < offset) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "a batch straddles offset " + offset);
        }
      }
      // Journaled: the intent is durable first, and recovery finishes it after a crash.
      LogRecovery.writeOffsetFile(io, dir.resolve(TRUNCATE_INTENT), offset);
      for (Segment s : List.copyOf(segments.tailMap(keep.baseOffset, true).values())) {
        segments.remove(s.baseOffset);
        s.close();
      }
      long now = clock.nowMs();
      int interval = config.indexIntervalBytes();
      LogRecovery.applyTruncation(io, dir, offset, now, interval);
      if (keep.baseOffset < offset) {
        Segment sealed = Segment.open(io, dir, keep.baseOffset, false, offset, now, interval);
        sealed.writeIndex(io);
        segments.put(sealed.baseOffset, sealed);
      }
      Segment fresh = Segment.open(io, dir, offset, true, Long.MAX_VALUE, now, interval);
      segments.put(fresh.baseOffset, fresh);
      active = fresh;
      logEndOffset = fresh.nextOffset();
      durableOffset = Math.min(durableOffset, logEndOffset);
      SwitchboardException truncated =
          SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "log truncated to " + offset);
      pending.removeIf(
          p -> {
            boolean gone = p.endOffset() > offset;
            if (gone) {
              p.future().completeExceptionally(truncated);
            }
            return gone;
          });
    } catch (IOException e) {
      throw failLocked(e, ErrorCode.LOG_IO_ERROR);
    } finally {
      appendLock.unlock();
      maintenanceLock.unlock();
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * Reads from {@code offset}: the batch that holds it and those after it in the same segment, up
   * to about {@code maxBytes} (at least one whole batch, so readers always progress). Like a Kafka
   * fetch, the bytes may end with a partial batch, which {@link LogReadResult#batches()} leaves
   * out. Every batch handed out was CRC-checked, by the append that wrote it or on first read.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_OFFSET_OUT_OF_RANGE} outside [start, end],
   *     {@link ErrorCode#LOG_CORRUPT_SEGMENT} at or past damage in a sealed segment
   */
  public LogReadResult read(long offset, int maxBytes) {
    ensureOpen();
    for (int attempt = 0; ; attempt++) {
      long start = logStartOffset;
      long end = logEndOffset;
      if (offset < start || offset > end) {
        throw SwitchboardException.of(ErrorCode.LOG_OFFSET_OUT_OF_RANGE, offset, start, end);
      }
      if (offset == end) {
        return LogReadResult.empty(start, end);
      }
      Map.Entry<Long, Segment> entry = segments.floorEntry(offset);
      Segment seg = entry != null ? entry.getValue() : segments.firstEntry().getValue();
      try {
        while (seg != null) {
          int limit = seg.readableSize();
          int pos = seg.positionOf(offset);
          if (pos < limit) {
            int firstBatch = batchSizeAt(seg, pos);
            int to = pos + Math.max(firstBatch, Math.min(maxBytes, limit - pos));
            int verifiedEnd = seg.verify(pos, to);
            return new LogReadResult(seg, pos, verifiedEnd - pos, start, end);
          }
          if (seg.damagedAt() >= 0) {
            throw seg.damageError();
          }
          Map.Entry<Long, Segment> next = segments.higherEntry(seg.baseOffset);
          seg = next == null ? null : next.getValue();
        }
        return LogReadResult.empty(start, end);
      } catch (IOException e) {
        if (attempt < 2 && !segments.containsValue(seg)) {
          continue; // retention or compaction replaced the segment under us: look again
        }
        throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, seg.logPath, e.getMessage());
      }
    }
  }

  private static int batchSizeAt(Segment seg, int pos) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(12);
    seg.read(header, pos);
    return RecordBatch.declaredSize(header, 0);
  }

  /**
   * The offset of the first record whose timestamp is at or after {@code timestamp}, or -1 when
   * every record is older.
   */
  public long offsetForTimestamp(long timestamp) {
    long from = -1;
    for (Segment seg : segments.values()) {
      if (seg.maxTimestamp() >= timestamp) {
        from = seg.baseOffset + seg.index().floorRelOffsetForTime(timestamp);
        break;
      }
    }
    if (from < 0) {
      return -1;
    }
    long offset = Math.max(from, logStartOffset);
    while (offset < logEndOffset) {
      List<RecordBatch> batches = read(offset, 1 << 20).batches();
      if (batches.isEmpty()) {
        return -1;
      }
      for (RecordBatch b : batches) {
        if (b.maxTimestamp() >= timestamp) {
          for (Record r : b.records(config.maxBatchBytes())) {
            if (r.timestamp() >= timestamp && r.offset() >= offset) {
              return r.offset();
            }
          }
        }
        offset = Math.max(offset, b.nextOffset());
      }
    }
    return -1;
  }

  /**
   * The offset and timestamp of the first record below {@code endOffset} stamped with the largest
   * timestamp there (Kafka's ListOffsets "max timestamp", KIP-734), or null when there is no record
   * below it. Each segment keeps its largest timestamp and the batch holding it, so this reads one
   * batch; a segment cut by the log start or by {@code endOffset}, or whose largest record was
   * compacted away, has its part scanned instead.
   */
  public long[] maxTimestampOffset(long endOffset) {
    long start = logStartOffset;
    List<Segment> byLargest = new ArrayList<>(segments.values());
    // stable: among segments with the same largest timestamp, the earlier one comes first
    byLargest.sort(Comparator.comparingLong(Segment::maxTimestamp).reversed());
    long[] best = null;
    for (Segment seg : byLargest) {
      long largest = seg.maxTimestamp();
      if (largest < 0 || (best != null && largest <= best[1])) {
        break; // the rest are no larger
      }
      long from = Math.max(seg.baseOffset, start);
      long to = Math.min(seg.nextOffset(), endOffset);
      if (from >= to) {
        continue;
      }
      long at = seg.offsetOfMaxTimestamp();
      long[] found = null;
      if (at >= from && at < to) {
        found = largestIn(at, to, largest, true);
      }
      if (found == null) {
        found = largestIn(from, to, -1, false);
      }
      if (found != null
          && (best == null || found[1] > best[1] || (found[1] == best[1] && found[0] < best[0]))) {
        best = found;
      }
    }
    return best;
  }

  /**
   * {offset, timestamp} of the first record in [from, to) with the largest timestamp, or null; with
   * {@code firstBatchOnly}, only the batch at {@code from} is read and a record must be stamped
   * {@code wanted}.
   */
  private long[] largestIn(long from, long to, long wanted, boolean firstBatchOnly) {
    long[] best = null;
    long offset = from;
    while (offset < to) {
      List<RecordBatch> batches = read(offset, 1 << 20).batches();
      if (batches.isEmpty()) {
        break;
      }
      for (RecordBatch b : batches) {
        if (b.baseOffset() >= to) {
          return best;
        }
        if (best == null || b.maxTimestamp() > best[1]) {
          for (Record r : b.records(config.maxBatchBytes())) {
            if (r.offset() < from || r.offset() >= to) {
              continue;
            }
            if (firstBatchOnly
                ? r.timestamp() == wanted
                : best == null || r.timestamp() > best[1]) {
              best = new long[] {r.offset(), r.timestamp()};
              if (firstBatchOnly) {
                return best;
              }
            }
          }
        }
        if (firstBatchOnly) {
          return null;
        }
        offset = Math.max(offset, b.nextOffset());
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- retention

  /**
   * Deletes whole sealed segments past the age and size limits or below the log-start offset. The
   * active segment is never deleted.
   *
   * @return the number of segments deleted
   */
  public int enforceRetention() {
    maintenanceLock.lock();
    try {
      ensureOpen();
      long now = clock.nowMs();
      int deleted = 0;
      while (true) {
        Segment oldest = oldestSealed();
        if (oldest == null) {
          return deleted;
        }
        boolean tooOld =
            config.retentionMs() > 0
                && oldest.maxTimestamp() >= 0
                && now - oldest.maxTimestamp() > config.retentionMs();
        boolean tooBig =
            config.retentionBytes() > 0 && sizeInBytes() - oldest.size() >= config.retentionBytes();
        boolean belowStart = oldest.nextOffset() <= logStartOffset;
        if (!tooOld && !tooBig && !belowStart) {
          return deleted;
        }
        deleteOldest(oldest);
        deleted++;
      }
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    } finally {
      maintenanceLock.unlock();
    }
  }

  /**
   * Moves the log-start offset forward to {@code offset} (work queues use it once messages are
   * acknowledged) and deletes the sealed segments wholly below it. Offsets below become unreadable
   * at once; the new start is durable before this returns.
   */
  public void deleteRecordsBefore(long offset) {
    if (offset > logEndOffset) {
      throw SwitchboardException.of(
          ErrorCode.LOG_OFFSET_OUT_OF_RANGE, offset, logStartOffset, logEndOffset);
    }
    maintenanceLock.lock();
    try {
      ensureOpen();
      if (offset <= logStartOffset) {
        return;
      }
      LogRecovery.writeCheckpoint(io, dir, offset);
      logStartOffset = offset;
      savedStart = offset;
      logStartUnsaved = false;
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    } finally {
      maintenanceLock.unlock();
    }
    enforceRetention();
  }

  /**
   * As {@link #deleteRecordsBefore}, but gives up at once (returning false) when retention or
   * compaction holds the log: for a partition's owner thread, which must never wait for them.
   */
  public boolean tryDeleteRecordsBefore(long offset) {
    if (!maintenanceLock.tryLock()) {
      return false;
    }
    try {
      deleteRecordsBefore(offset);
      return true;
    } finally {
      maintenanceLock.unlock();
    }
  }

  /**
   * Moves the log-start offset forward to {@code offset} in memory, without I/O: offsets below
   * become unreadable at once, and the flusher makes the new start durable with its next
   * checkpoint, at most {@code fsyncIntervalMs} later (so many moves share one checkpoint write); a
   * clean close writes it too. Sealed segments wholly below it go with the next {@link
   * #enforceRetention}, which writes the checkpoint before deleting any. A crash before the
   * checkpoint brings the start back to the last one saved: records that were hidden become
   * readable again, none is lost.
   *
   * <p>For callers that must not block or do I/O (a partition's owner, the work-queue trimmer):
   * gives up at once, returning false, when retention or compaction holds the log.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_OFFSET_OUT_OF_RANGE} past the end
   */
  public boolean advanceLogStart(long offset) {
    if (offset > logEndOffset) {
      throw SwitchboardException.of(
          ErrorCode.LOG_OFFSET_OUT_OF_RANGE, offset, logStartOffset, logEndOffset);
    }
    if (!maintenanceLock.tryLock()) {
      return false;
    }
    try {
      ensureOpen();
      if (offset > logStartOffset) {
        logStartOffset = offset;
        if (!logStartUnsaved) {
          logStartUnsaved = true;
          if (flusherShard != null) {
            flusherShard.wake(this);
          }
        }
      }
      return true;
    } finally {
      maintenanceLock.unlock();
    }
  }

  /**
   * Whether the log start moved by {@link #advanceLogStart} is still to be checkpointed (tests).
   */
  boolean logStartUnsaved() {
    return logStartUnsaved;
  }

  private Segment oldestSealed() {
    Segment first = segments.firstEntry().getValue();
    return first == active ? null : first;
  }

  /**
   * Caller holds maintenanceLock. The new start offset (or one {@link #advanceLogStart} left
   * unsaved) is durable before files go.
   */
  private void deleteOldest(Segment oldest) throws IOException {
    Map.Entry<Long, Segment> next = segments.higherEntry(oldest.baseOffset);
    long newStart = Math.max(logStartOffset, next.getKey());
    if (newStart > logStartOffset || logStartUnsaved) {
      // At least past the segment going; an unsaved start only as far as is on stable storage.
      long save = Math.max(next.getKey(), Math.min(newStart, durableOffset));
      if (save > savedStart) {
        LogRecovery.writeCheckpoint(io, dir, save);
        savedStart = save;
      }
      logStartOffset = newStart;
      logStartUnsaved = save < newStart;
    }
    segments.remove(oldest.baseOffset, oldest);
    oldest.delete(io);
    io.forceDirectory(dir);
  }

  /**
   * Runs one compaction pass if the log's config {@linkplain LogConfig#compacts() compacts}: under
   * {@link CleanupPolicy#COMPACT} keeps the latest record per key (per subject without a key) in
   * sealed segments, dropping tombstones older than the delete retention; with {@link
   * LogConfig#maxRecordsPerSubject()} keeps that many per subject. Never blocks appends beyond a
   * segment swap.
   */
  public LogCompactor.Stats compact() {
    if (!config.compacts()) {
      return LogCompactor.Stats.NONE;
    }
    maintenanceLock.lock();
    try {
      ensureOpen();
      return new LogCompactor(this).run();
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    } finally {
      maintenanceLock.unlock();
    }
  }

  /** Sealed segments, oldest first (compaction's input). */
  List<Segment> sealedSegments() {
    List<Segment> out = new ArrayList<>();
    for (Segment s : segments.values()) {
      if (s != active) {
        out.add(s);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- state

  public Path dir() {
    return dir;
  }

  public LogConfig config() {
    return config;
  }

  /**
   * First readable offset. Retention may move it across offsets that hold no record (gaps left by
   * compaction), never past a record it did not delete.
   */
  public long logStartOffset() {
    return logStartOffset;
  }

  /** The offset the next appended record gets. */
  public long logEndOffset() {
    return logEndOffset;
  }

  /** Every offset below this is on stable storage. */
  public long durableOffset() {
    return durableOffset;
  }

  /**
   * The end of what readers may see: under {@link FsyncPolicy#ALWAYS} only what is on stable
   * storage (acknowledged or about to be), so a reader never gets a record a power cut could take
   * back and give another message's offset to; under the other policies everything appended, as
   * their publishers are acknowledged before the force. Append listeners are told when it moves.
   */
  public long readableEndOffset() {
    return config.fsync() == FsyncPolicy.ALWAYS ? durableOffset : logEndOffset;
  }

  public long sizeInBytes() {
    long total = 0;
    for (Segment s : segments.values()) {
      total += s.size();
    }
    return total;
  }

  public int segmentCount() {
    return segments.size();
  }

  Collection<Segment> segments() {
    return segments.values();
  }

  /**
   * Stops appends, completes those waiting (forcing them first), writes the active segment's index
   * and the clean-shutdown marker, and closes every file. Idempotent.
   */
  @Override
  public void close() {
    appendLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      if (spare != null) {
        closeQuietly(spare);
        spare = null;
      }
    } finally {
      appendLock.unlock();
    }
    if (flusher != null) {
      flusher.unregister(this, flusherShard);
      if (ownsFlusher) {
        flusher.close();
      }
    }
    maintenanceLock.lock();
    try {
      if (failure == null) {
        flushPending();
      }
      if (failure == null) {
        active.force();
        active.writeIndex(io);
        if (logStartUnsaved && logStartOffset > savedStart) {
          LogRecovery.writeCheckpoint(io, dir, logStartOffset); // everything is forced above
          savedStart = logStartOffset;
        }
        logStartUnsaved = false;
        io.delete(dir.resolve(SPARE_SEGMENT)); // made durable by the marker's directory force
        io.writeAtomically(dir.resolve(CLEAN_SHUTDOWN), ByteBuffer.allocate(0));
      }
    } catch (IOException e) {
      fail(e, ErrorCode.LOG_IO_ERROR);
    } finally {
      appendLock.lock();
      try {
        for (PendingFlush p : pending) {
          p.future().completeExceptionally(SwitchboardException.of(ErrorCode.LOG_CLOSED, dir));
        }
        pending.clear();
      } finally {
        appendLock.unlock();
      }
      for (Segment s : segments.values()) {
        s.closeQuietly();
      }
      maintenanceLock.unlock();
    }
  }

  @Override
  public String toString() {
    return "PartitionLog[" + dir + ", " + logStartOffset + ".." + logEndOffset + "]";
  }
}
