package io.switchboard.log;

import static io.switchboard.log.format.RecordBatchDescriptor.*;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.io.StorageFile;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One segment of a partition log: {@code <baseOffset>.log}, a run of record batches, and its {@code
 * <baseOffset>.index} (see {@link SegmentIndex}). Base offsets are zero-padded to 20 digits so that
 * names sort as offsets.
 *
 * <p>Thread safety: appends, truncation and sealing happen under the owning log's append lock;
 * readers use the volatile {@link #size()} and {@link #nextOffset()} and positional reads, and may
 * run concurrently. {@link #force} and {@link #close} synchronize on the segment so a flusher never
 * forces a closed file.
 *
 * <p>After a crash: the {@code .log} file of the last segment is scanned and truncated after its
 * last valid batch; sealed segments were forced when they were sealed and are trusted, but their
 * batches are CRC-checked the first time they are read ({@link #verify}), and a damaged one stops
 * reads at the damage. A missing or invalid {@code .index} file is rebuilt by a scan.
 */
final class Segment {
  private static final Logger LOG = LoggerFactory.getLogger(Segment.class);
  static final String LOG_SUFFIX = ".log";
  static final String INDEX_SUFFIX = ".index";

  /** Read granularity of scans and verification. */
  private static final int SCAN_CHUNK_BYTES = 1 << 20;

  private static final int LOOKUP_HEADER_BYTES = LAST_OFFSET_DELTA_OFFSET + 4;

  final long baseOffset;
  final Path logPath;
  final Path indexPath;
  private final StorageFile file;
  private final SegmentIndex index;

  private volatile int size;
  private volatile long nextOffset;
  private volatile long maxTimestamp = -1;
  private volatile long offsetOfMaxTimestamp = -1;
  private volatile int verifiedSize;
  private volatile int damagedAt = -1;
  private int bytesSinceIndexEntry = Integer.MAX_VALUE;
  private long maxTimestampAtLastTimeEntry = -1;
  private long createdMs;
  private boolean closed;

  private Segment(long baseOffset, Path dir, StorageFile file, SegmentIndex index, long createdMs) {
    this.baseOffset = baseOffset;
    this.logPath = dir.resolve(name(baseOffset, LOG_SUFFIX));
    this.indexPath = dir.resolve(name(baseOffset, INDEX_SUFFIX));
    this.file = file;
    this.index = index;
    this.nextOffset = baseOffset;
    this.createdMs = createdMs;
  }

  static String name(long baseOffset, String suffix) {
    return String.format("%020d%s", baseOffset, suffix);
  }

  /**
   * A segment on a file made empty ahead of time and already renamed to this segment's name; the
   * caller forces the directory to make that name durable before appending.
   */
  static Segment adopt(Path dir, long baseOffset, StorageFile file, long nowMs) {
    return new Segment(baseOffset, dir, file, new SegmentIndex(), nowMs);
  }

  /** A new empty segment; the caller forces the directory to make its entry durable. */
  static Segment create(StorageIO io, Path dir, long baseOffset, long nowMs) throws IOException {
    StorageFile file = io.open(dir.resolve(name(baseOffset, LOG_SUFFIX)), true);
    file.truncate(0);
    return new Segment(baseOffset, dir, file, new SegmentIndex(), nowMs);
  }

  /**
   * Opens an existing segment, trusting its index file when it is valid and describes exactly the
   * file's current size; otherwise scans the file, which also CRC-checks every batch.
   *
   * @param isLastAndUnclean scan even a valid-looking index and truncate a torn or corrupt tail
   * @param nextSegmentBase base offset of the next segment (every batch here ends below it), or
   *     {@link Long#MAX_VALUE} for the last segment
   */
  static Segment open(
      StorageIO io,
      Path dir,
      long baseOffset,
      boolean isLastAndUnclean,
      long nextSegmentBase,
      long nowMs,
      int interval)
      throws IOException {
    StorageFile file = io.open(dir.resolve(name(baseOffset, LOG_SUFFIX)), false);
    try {
      long fileSize = file.size();
      if (fileSize > Integer.MAX_VALUE) {
        throw new IOException("segment file larger than 2 GiB: " + fileSize);
      }
      Path indexPath = dir.resolve(name(baseOffset, INDEX_SUFFIX));
      if (!isLastAndUnclean && io.exists(indexPath)) {
        SegmentIndex.Loaded loaded = SegmentIndex.parse(io.readAll(indexPath));
        if (loaded != null && loaded.segmentSize() == fileSize) {
          Segment s = new Segment(baseOffset, dir, file, loaded.index(), nowMs);
          s.size = (int) fileSize;
          s.nextOffset = loaded.nextOffset();
          s.maxTimestamp = loaded.maxTimestamp();
          s.offsetOfMaxTimestamp = loaded.offsetOfMaxTimestamp();
          s.bytesSinceIndexEntry = 0;
          s.maxTimestampAtLastTimeEntry = loaded.maxTimestamp();
          return s;
        }
      }
      Segment s = new Segment(baseOffset, dir, file, new SegmentIndex(), nowMs);
      s.scan((int) fileSize, interval, isLastAndUnclean, nextSegmentBase);
      return s;
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
  }

  /**
   * Rebuilds the index by walking and CRC-checking every batch. In the last segment of an unclean
   * log a bad batch is a torn or unacknowledged write: the file is truncated before it. In a sealed
   * segment it is damage: kept on disk, recorded, and reads stop there.
   */
  private void scan(int fileSize, int interval, boolean truncateTail, long upperBound)
      throws IOException {
    int pos = 0;
    String problem = null;
    ByteBuffer chunk = ByteBuffer.allocate(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize, 1)));
    int chunkStart = 0;
    int chunkLen = 0;
    while (pos < fileSize) {
      if (fileSize - pos < HEADER_SIZE) {
        problem = "torn batch header";
        break;
      }
      if (pos + HEADER_SIZE > chunkStart + chunkLen) {
        chunkStart = pos;
        chunkLen = readChunk(chunk, pos, fileSize);
      }
      int batchSize = chunk.getInt(pos - chunkStart + LENGTH_OFFSET) + LOG_OVERHEAD;
      if (batchSize < HEADER_SIZE || batchSize > fileSize - pos) {
        problem = "batch length " + batchSize + " does not fit the file";
        break;
      }
      if (pos + batchSize > chunkStart + chunkLen) {
        if (batchSize > chunk.capacity()) {
          chunk = ByteBuffer.allocate(batchSize);
        }
        chunkStart = pos;
        chunkLen = readChunk(chunk, pos, fileSize);
      }
      RecordBatch batch = RecordBatch.wrap(chunk.slice(pos - chunkStart, batchSize));
      problem = checkBatch(batch, truncateTail, upperBound);
      if (problem != null) {
        break;
      }
      indexBatch(batch, pos, interval);
      pos += batchSize;
    }
    size = pos;
    verifiedSize = pos;
    indexRebuilt = true;
    if (pos < fileSize) {
      if (truncateTail) {
        file.truncate(pos);
        file.force();
      } else {
        damagedAt = pos;
        damageReason = problem;
      }
    }
  }

  private volatile String damageReason;
  private boolean indexRebuilt;

  private int readChunk(ByteBuffer chunk, int pos, int fileSize) throws IOException {
    chunk.clear();
    chunk.limit(Math.min(chunk.capacity(), fileSize - pos));
    int n = file.read(chunk, pos);
    chunk.flip();
    return n;
  }

  /**
   * Why {@code batch} cannot follow the batches before it, or null. The CRC does not cover the base
   * offset, so offsets are checked against what they can be: exactly the next offset where the
   * segment was never compacted (the last one, the only one recovery truncates), and below the next
   * segment's base everywhere.
   */
  private String checkBatch(RecordBatch batch, boolean contiguous, long upperBound) {
    if (batch.magic() != MAGIC) {
      return "magic " + batch.magic();
    }
    if (batch.checksum() != batch.computeChecksum()) {
      return "CRC mismatch";
    }
    long base = batch.baseOffset();
    if ((contiguous ? base != nextOffset : base < nextOffset)
        || batch.lastOffsetDelta() < 0
        || base + batch.lastOffsetDelta() >= upperBound) {
      return "offset " + base + " cannot follow " + (nextOffset - 1);
    }
    return null;
  }

  /** Updates offsets, timestamps and sparse index entries for a batch placed at {@code pos}. */
  private void indexBatch(RecordBatch batch, int pos, int interval) {
    int rel = (int) (batch.baseOffset() - baseOffset);
    if (bytesSinceIndexEntry >= interval) {
      index.addOffset(rel, pos);
      if (maxTimestamp > maxTimestampAtLastTimeEntry) {
        index.addTime(maxTimestamp, (int) (offsetOfMaxTimestamp - baseOffset));
        maxTimestampAtLastTimeEntry = maxTimestamp;
      }
      bytesSinceIndexEntry = 0;
    }
    bytesSinceIndexEntry += batch.sizeInBytes();
    if (batch.maxTimestamp() > maxTimestamp) {
      offsetOfMaxTimestamp = batch.baseOffset();
      maxTimestamp = batch.maxTimestamp();
    }
    nextOffset = batch.nextOffset();
  }

  /**
   * Writes a validated batch (base offset already assigned) at the end. Borrows {@code batch}.
   * Caller holds the log's append lock.
   */
  void append(ByteBuffer batch, RecordBatch view, int interval) throws IOException {
    int pos = size;
    file.write(batch.duplicate(), pos);
    indexBatch(view, pos, interval);
    int newSize = pos + view.sizeInBytes();
    // Bytes this process wrote were validated before the write: no need to re-check their CRC.
    if (verifiedSize == pos) {
      verifiedSize = newSize;
    }
    size = newSize;
  }

  /**
   * The file position of the batch that holds {@code offset}, or {@link #size()} when the offset is
   * past this segment's batches.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_CORRUPT_SEGMENT} when the walk meets damage
   */
  int positionOf(long offset) throws IOException {
    int limit = readableSize();
    int pos = index.floorPosition((int) Math.min(Integer.MAX_VALUE, offset - baseOffset));
    ByteBuffer header = ByteBuffer.allocate(LOOKUP_HEADER_BYTES);
    long prevNext = baseOffset;
    while (pos < limit) {
      header.clear();
      if (file.read(header, pos) < LOOKUP_HEADER_BYTES) {
        throw damaged(pos, "short read of a batch header", prevNext);
      }
      long base = header.getLong(BASE_OFFSET_OFFSET);
      int batchSize = header.getInt(LENGTH_OFFSET) + LOG_OVERHEAD;
      int lastDelta = header.getInt(LAST_OFFSET_DELTA_OFFSET);
      if (batchSize < HEADER_SIZE || batchSize > limit - pos || base < prevNext || lastDelta < 0) {
        throw damaged(pos, "batch header does not fit the segment", prevNext);
      }
      if (base + lastDelta >= offset) {
        return pos;
      }
      prevNext = base + lastDelta + 1;
      pos += batchSize;
    }
    return limit;
  }

  /**
   * CRC-checks the complete batches in {@code [from, to)} that no earlier check covered, reading
   * them once. Everything this process appended counts as checked.
   *
   * @return the end of the last complete batch in the range
   * @throws SwitchboardException {@link ErrorCode#LOG_CORRUPT_SEGMENT} at the first bad batch
   */
  int verify(int from, int to) throws IOException {
    int verified = verifiedSize;
    if (to <= verified) {
      return to;
    }
    int pos = from;
    boolean contiguous = from <= verified;
    if (contiguous) {
      pos = verified;
    }
    ByteBuffer chunk = ByteBuffer.allocate(Math.min(SCAN_CHUNK_BYTES, to - pos));
    CRC32C crc = new CRC32C();
    long prevNext = baseOffset;
    while (pos < to) {
      chunk.clear();
      chunk.limit(Math.min(chunk.capacity(), to - pos));
      file.read(chunk, pos);
      chunk.flip();
      int at = 0;
      while (chunk.limit() - at >= HEADER_SIZE) {
        int batchSize = chunk.getInt(at + LENGTH_OFFSET) + LOG_OVERHEAD;
        if (batchSize < HEADER_SIZE || pos + at + batchSize > size) {
          throw damaged(pos + at, "batch length " + batchSize + " does not fit", -1);
        }
        if (at + batchSize > chunk.limit()) {
          break;
        }
        crc.reset();
        crc.update(chunk.slice(at + ATTRIBUTES_OFFSET, batchSize - ATTRIBUTES_OFFSET));
        long base = chunk.getLong(at + BASE_OFFSET_OFFSET);
        if (chunk.get(at + MAGIC_OFFSET) != MAGIC
            || (int) crc.getValue() != chunk.getInt(at + CRC_OFFSET)) {
          throw damaged(pos + at, "CRC mismatch", prevNext);
        }
        // The CRC does not cover the base offset: check it against the segment's bounds.
        long last = base + chunk.getInt(at + LAST_OFFSET_DELTA_OFFSET);
        if (base < prevNext || last < base || last >= nextOffset) {
          throw damaged(pos + at, "base offset " + base + " out of the segment's range", prevNext);
        }
        prevNext = last + 1;
        at += batchSize;
      }
      if (at == 0) {
        if (to - pos >= HEADER_SIZE && chunk.capacity() < to - pos) {
          chunk = ByteBuffer.allocate(to - pos);
          continue;
        }
        break; // a partial batch at the end of the range: checked when it is read whole
      }
      pos += at;
      if (contiguous) {
        verifiedSize = pos;
      }
    }
    return pos;
  }

  private SwitchboardException damaged(int pos, String reason, long firstUnservedOffset) {
    if (damagedAt < 0 || pos < damagedAt) {
      damagedAt = pos;
      damageReason = reason;
    }
    return SwitchboardException.of(
        ErrorCode.LOG_CORRUPT_SEGMENT,
        logPath,
        pos,
        reason,
        firstUnservedOffset < 0 ? "(unknown)" : firstUnservedOffset);
  }

  /** Bytes that may be served: up to the first known damage. */
  int readableSize() {
    int d = damagedAt;
    int s = size;
    return d >= 0 ? Math.min(d, s) : s;
  }

  /** Position of known damage, or -1. */
  int damagedAt() {
    return damagedAt;
  }

  String damageReason() {
    return damageReason;
  }

  SwitchboardException damageError() {
    return SwitchboardException.of(
        ErrorCode.LOG_CORRUPT_SEGMENT, logPath, damagedAt, damageReason, "(after the damage)");
  }

  int read(ByteBuffer dst, int position) throws IOException {
    return file.read(dst, position);
  }

  StorageFile file() {
    return file;
  }

  int size() {
    return size;
  }

  long nextOffset() {
    return nextOffset;
  }

  long maxTimestamp() {
    return maxTimestamp;
  }

  /** The base offset of the first batch holding {@link #maxTimestamp}, or -1. */
  long offsetOfMaxTimestamp() {
    return offsetOfMaxTimestamp;
  }

  long createdMs() {
    return createdMs;
  }

  void resetCreatedMs(long nowMs) {
    this.createdMs = nowMs;
  }

  /** Whether opening had to rebuild the index by scanning (so the file on disk is stale). */
  boolean indexRebuilt() {
    return indexRebuilt;
  }

  /** Closes, logging rather than throwing: for paths that are already handling a failure. */
  void closeQuietly() {
    try {
      close();
    } catch (IOException e) {
      LOG.warn("SB-LOG-1003 {}: close failed", logPath, e);
    }
  }

  SegmentIndex index() {
    return index;
  }

  /** Forces the file unless it was closed (a sealed, deleted segment was forced when sealed). */
  synchronized void force() throws IOException {
    if (!closed) {
      long start = System.nanoTime();
      file.force();
      FsyncStats.record(System.nanoTime() - start);
    }
  }

  /** Writes the index file atomically (temporary file, force, rename, directory force). */
  void writeIndex(StorageIO io) throws IOException {
    io.writeAtomically(
        indexPath, index.toBytes(size, nextOffset, maxTimestamp, offsetOfMaxTimestamp));
  }

  synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      file.close();
    }
  }

  /** Closes and removes both files; the caller forces the directory. */
  void delete(StorageIO io) throws IOException {
    close();
    io.delete(logPath);
    io.delete(indexPath);
  }

  @Override
  public String toString() {
    return "Segment[" + baseOffset + ".." + (nextOffset - 1) + ", " + size + " B]";
  }
}
