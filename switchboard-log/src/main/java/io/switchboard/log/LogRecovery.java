package io.switchboard.log;

import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a partition directory after a clean stop or a crash (what happens to each file is listed on
 * {@link PartitionLog}), and reads and writes the log-start checkpoint. Stateless; runs on the
 * thread that opens the log, before the log is shared.
 *
 * <p>Checkpoint file {@code log-start-offset}: offset int64, CRC-32C of it int32, written
 * atomically. A damaged checkpoint is ignored and the first segment's base offset used instead,
 * which can only bring back records that retention had not yet removed from disk.
 */
final class LogRecovery {
  private static final Logger LOG = LoggerFactory.getLogger(LogRecovery.class);

  private LogRecovery() {}

  /**
   * Loads every segment of {@code dir} into {@code segments} (creating a first one in an empty
   * directory).
   *
   * @return the log-start offset from the checkpoint (0 without one)
   */
  static long recover(
      Path dir,
      LogConfig config,
      StorageIO io,
      Clock clock,
      ConcurrentSkipListMap<Long, Segment> segments)
      throws IOException {
    io.createDirectories(dir);
    boolean dirChanged = finishInterruptedCompactions(dir, io);
    long truncateTo = readOffsetFile(io, dir.resolve(PartitionLog.TRUNCATE_INTENT));
    if (truncateTo >= 0) {
      LOG.warn("SB-LOG-1006 {}: finishing an interrupted truncation to {}", dir, truncateTo);
      applyTruncation(io, dir, truncateTo, clock.nowMs(), config.indexIntervalBytes());
    }
    Path marker = dir.resolve(PartitionLog.CLEAN_SHUTDOWN);
    boolean clean = io.exists(marker);
    if (clean) {
      // Deleted durably before any append, so a crash from now on is seen as unclean.
      io.delete(marker);
      dirChanged = true;
    }
    TreeMap<Long, Path> bases = new TreeMap<>();
    for (Path p : io.list(dir)) {
      String name = p.getFileName().toString();
      if (name.endsWith(Segment.LOG_SUFFIX)) {
        bases.put(parseBase(name, Segment.LOG_SUFFIX), p);
      }
    }
    long now = clock.nowMs();
    try {
      for (Map.Entry<Long, Path> e : bases.entrySet()) {
        Long nextBase = bases.higherKey(e.getKey());
        boolean last = nextBase == null;
        Segment s =
            Segment.open(
                io,
                dir,
                e.getKey(),
                last && !clean,
                last ? Long.MAX_VALUE : nextBase,
                now,
                config.indexIntervalBytes());
        segments.put(s.baseOffset, s);
        if (!last && s.damagedAt() < 0 && s.indexRebuilt()) {
          s.writeIndex(io); // so the next open need not scan it again
        }
        if (s.damagedAt() >= 0) {
          LOG.error(
              "SB-LOG-1001 {}: sealed segment damaged at position {} ({}); reads stop there",
              s.logPath,
              s.damagedAt(),
              s.damageReason());
        }
      }
    } catch (IOException | RuntimeException e) {
      for (Segment s : segments.values()) {
        s.closeQuietly();
      }
      segments.clear();
      throw e;
    }
    long checkpoint = readCheckpoint(io, dir);
    if (segments.isEmpty()) {
      Segment s = Segment.create(io, dir, checkpoint, now);
      segments.put(s.baseOffset, s);
      dirChanged = true;
    }
    if (dirChanged) {
      io.forceDirectory(dir);
    }
    return checkpoint;
  }

  private static boolean finishInterruptedCompactions(Path dir, StorageIO io) throws IOException {
    boolean changed = false;
    for (Path p : io.list(dir)) {
      String name = p.getFileName().toString();
      if (name.endsWith(PartitionLog.CLEANED_SUFFIX)
          || name.endsWith(".tmp")
          || name.equals(PartitionLog.SPARE_SEGMENT)) {
        // A spare was never a segment: a roll that took it renamed it first.
        io.delete(p);
        changed = true;
      } else if (name.endsWith(Segment.LOG_SUFFIX + PartitionLog.SWAP_SUFFIX)) {
        long base = parseBase(name, Segment.LOG_SUFFIX + PartitionLog.SWAP_SUFFIX);
        io.delete(dir.resolve(Segment.name(base, Segment.INDEX_SUFFIX)));
        io.move(p, dir.resolve(Segment.name(base, Segment.LOG_SUFFIX)));
        changed = true;
      }
    }
    return changed;
  }

  private static long parseBase(String name, String suffix) {
    String digits = name.substring(0, name.length() - suffix.length());
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw SwitchboardException.of(
          ErrorCode.LOG_IO_ERROR,
          name,
          "not a segment file name (expected <offset>" + suffix + ")");
    }
  }

  static long readCheckpoint(StorageIO io, Path dir) throws IOException {
    long offset = readOffsetFile(io, dir.resolve(PartitionLog.LOG_START_CHECKPOINT));
    return Math.max(offset, 0);
  }

  static void writeCheckpoint(StorageIO io, Path dir, long offset) throws IOException {
    writeOffsetFile(io, dir.resolve(PartitionLog.LOG_START_CHECKPOINT), offset);
  }

  /** An offset file (int64 + CRC-32C int32); -1 when missing or damaged. */
  static long readOffsetFile(StorageIO io, Path p) throws IOException {
    if (!io.exists(p)) {
      return -1;
    }
    ByteBuffer b = io.readAll(p);
    if (b.remaining() != 12) {
      LOG.warn("SB-LOG-1002 {}: ignoring an offset file of {} bytes", p, b.remaining());
      return -1;
    }
    CRC32C crc = new CRC32C();
    crc.update(b.slice(0, 8));
    if ((int) crc.getValue() != b.getInt(8)) {
      LOG.warn("SB-LOG-1002 {}: ignoring an offset file with a bad CRC", p);
      return -1;
    }
    return b.getLong(0);
  }

  static void writeOffsetFile(StorageIO io, Path p, long offset) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(12).putLong(offset);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 8);
    b.putInt((int) crc.getValue()).flip();
    io.writeAtomically(p, b);
  }

  /**
   * Carries out a truncation recorded in {@code truncate-intent}, on closed files; safe to repeat
   * after a crash at any point. Deletes every segment above {@code offset}, cuts the segment that
   * holds {@code offset} before the first batch at or after it, and leaves an empty segment based
   * at {@code offset} as the last one, so a compacted segment (whose offsets may have gaps) never
   * becomes the last segment, the one recovery requires to be contiguous.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_CORRUPT_SEGMENT} when damage hides where to
   *     cut; the intent stays, and the log does not open until an operator looks
   */
  static void applyTruncation(StorageIO io, Path dir, long offset, long nowMs, int interval)
      throws IOException {
    TreeMap<Long, Path> bases = new TreeMap<>();
    for (Path p : io.list(dir)) {
      String name = p.getFileName().toString();
      if (name.endsWith(Segment.LOG_SUFFIX)) {
        bases.put(parseBase(name, Segment.LOG_SUFFIX), p);
      }
    }
    for (long base : bases.descendingKeySet()) {
      if (base > offset) {
        io.delete(dir.resolve(Segment.name(base, Segment.LOG_SUFFIX)));
        io.delete(dir.resolve(Segment.name(base, Segment.INDEX_SUFFIX)));
      }
    }
    Long keepBase = bases.floorKey(offset);
    if (keepBase != null) {
      io.delete(dir.resolve(Segment.name(keepBase, Segment.INDEX_SUFFIX)));
    }
    io.forceDirectory(dir);
    if (keepBase != null) {
      // Scanned with the offset as upper bound: the scan stops at the first batch reaching it.
      Segment keep = Segment.open(io, dir, keepBase, false, offset, nowMs, interval);
      try {
        int cut = keep.readableSize();
        if (cut < keep.file().size()) {
          ByteBuffer header = ByteBuffer.allocate(8);
          keep.read(header, cut);
          if (header.getLong(0) < offset) {
            throw SwitchboardException.of(
                ErrorCode.LOG_CORRUPT_SEGMENT,
                keep.logPath,
                cut,
                "damage before truncation offset " + offset,
                cut);
          }
          keep.file().truncate(cut);
          keep.file().force();
        }
      } finally {
        keep.close();
      }
    }
    if (keepBase == null || keepBase != offset) {
      Segment.create(io, dir, offset, nowMs).close();
    }
    io.forceDirectory(dir);
    io.delete(dir.resolve(PartitionLog.TRUNCATE_INTENT));
    io.forceDirectory(dir);
  }
}
