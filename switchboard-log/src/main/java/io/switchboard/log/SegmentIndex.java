package io.switchboard.log;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The sparse offset index and the time index of one segment, kept in memory and written whole to
 * the segment's {@code .index} file when the segment is sealed or the log closes cleanly.
 *
 * <p>Thread safety: one writer (the log's appender, under the append lock) and any number of
 * readers. Entries are written into the arrays before the volatile count that publishes them; a
 * grown array is published before the count too, so a reader that reads the count first and the
 * array second always sees at least {@code count} valid entries.
 *
 * <p>File format (big-endian), trusted only when its CRC matches and the described segment size
 * equals the log file's size; otherwise the index is rebuilt by scanning the segment:
 *
 * <pre>
 * magic int32 "SBIX" | version int16 = 1 | segmentSize int32 | nextOffset int64
 * maxTimestamp int64 | offsetOfMaxTimestamp int64 | offsetCount int32 | timeCount int32
 * offsetCount x (relativeOffset int32, position int32)
 * timeCount   x (timestamp int64, relativeOffset int32)
 * crc32c int32 over every byte before it
 * </pre>
 */
final class SegmentIndex {
  static final int MAGIC = 0x53424958;
  static final short VERSION = 1;
  static final int HEADER_BYTES = 4 + 2 + 4 + 8 + 8 + 8 + 4 + 4;
  static final int OFFSET_ENTRY_BYTES = 8;
  static final int TIME_ENTRY_BYTES = 12;

  private volatile int[] relOffsets = new int[16];
  private volatile int[] positions = new int[16];
  private volatile int offsetCount;
  private volatile long[] timestamps = new long[16];
  private volatile int[] timeRelOffsets = new int[16];
  private volatile int timeCount;

  /** Adds an entry; relative offsets and positions must grow strictly. Writer only. */
  void addOffset(int relOffset, int position) {
    int n = offsetCount;
    if (n == relOffsets.length) {
      int[] r = Arrays.copyOf(relOffsets, n * 2);
      int[] p = Arrays.copyOf(positions, n * 2);
      r[n] = relOffset;
      p[n] = position;
      relOffsets = r;
      positions = p;
    } else {
      relOffsets[n] = relOffset;
      positions[n] = position;
    }
    offsetCount = n + 1;
  }

  /** Adds a time entry; timestamps must grow strictly. Writer only. */
  void addTime(long timestamp, int relOffset) {
    int n = timeCount;
    if (n > 0 && timestamps[n - 1] >= timestamp) {
      return;
    }
    if (n == timestamps.length) {
      long[] t = Arrays.copyOf(timestamps, n * 2);
      int[] r = Arrays.copyOf(timeRelOffsets, n * 2);
      t[n] = timestamp;
      r[n] = relOffset;
      timestamps = t;
      timeRelOffsets = r;
    } else {
      timestamps[n] = timestamp;
      timeRelOffsets[n] = relOffset;
    }
    timeCount = n + 1;
  }

  int offsetEntries() {
    return offsetCount;
  }

  /** Position of the last indexed batch starting at or before {@code relOffset}; 0 when none. */
  int floorPosition(int relOffset) {
    int n = offsetCount;
    int[] r = relOffsets;
    int[] p = positions;
    int lo = 0;
    int hi = n - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (r[mid] <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : p[found];
  }

  /**
   * A relative offset from which a scan finds the first record with timestamp at or after {@code
   * timestamp}: every record before it is older. 0 when no entry says so.
   */
  int floorRelOffsetForTime(long timestamp) {
    int n = timeCount;
    long[] t = timestamps;
    int[] r = timeRelOffsets;
    int found = -1;
    int lo = 0;
    int hi = n - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (t[mid] < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : r[found];
  }

  /** Serializes the index and the segment facts it describes. */
  ByteBuffer toBytes(int segmentSize, long nextOffset, long maxTimestamp, long offsetOfMaxTs) {
    int oc = offsetCount;
    int tc = timeCount;
    int[] r = relOffsets;
    int[] p = positions;
    long[] t = timestamps;
    int[] tr = timeRelOffsets;
    ByteBuffer out =
        ByteBuffer.allocate(HEADER_BYTES + oc * OFFSET_ENTRY_BYTES + tc * TIME_ENTRY_BYTES + 4);
    out.putInt(MAGIC).putShort(VERSION).putInt(segmentSize).putLong(nextOffset);
    out.putLong(maxTimestamp).putLong(offsetOfMaxTs).putInt(oc).putInt(tc);
    for (int i = 0; i < oc; i++) {
      out.putInt(r[i]).putInt(p[i]);
    }
    for (int i = 0; i < tc; i++) {
      out.putLong(t[i]).putInt(tr[i]);
    }
    CRC32C crc = new CRC32C();
    crc.update(out.array(), 0, out.position());
    out.putInt((int) crc.getValue());
    return out.flip();
  }

  /** What a valid index file says about its segment. */
  record Loaded(
      SegmentIndex index,
      int segmentSize,
      long nextOffset,
      long maxTimestamp,
      long offsetOfMaxTimestamp) {}

  /**
   * Parses an index file; {@code null} when it is damaged in any way (bad magic, version, counts,
   * CRC, or entries out of order), in which case the caller rebuilds it.
   */
  static Loaded parse(ByteBuffer in) {
    if (in.remaining() < HEADER_BYTES + 4) {
      return null;
    }
    int start = in.position();
    int end = in.limit();
    CRC32C crc = new CRC32C();
    crc.update(in.slice(start, end - start - 4));
    if ((int) crc.getValue() != in.getInt(end - 4)) {
      return null;
    }
    if (in.getInt() != MAGIC || in.getShort() != VERSION) {
      return null;
    }
    int segmentSize = in.getInt();
    long nextOffset = in.getLong();
    long maxTs = in.getLong();
    long offsetOfMaxTs = in.getLong();
    int oc = in.getInt();
    int tc = in.getInt();
    long expected = (long) HEADER_BYTES + (long) oc * OFFSET_ENTRY_BYTES + tc * 12L + 4;
    if (oc < 0 || tc < 0 || segmentSize < 0 || expected != end - start) {
      return null;
    }
    SegmentIndex index = new SegmentIndex();
    int prevRel = -1;
    int prevPos = -1;
    for (int i = 0; i < oc; i++) {
      int rel = in.getInt();
      int pos = in.getInt();
      if (rel <= prevRel || pos <= prevPos || pos >= segmentSize) {
        return null;
      }
      index.addOffset(rel, pos);
      prevRel = rel;
      prevPos = pos;
    }
    long prevTs = Long.MIN_VALUE;
    for (int i = 0; i < tc; i++) {
      long ts = in.getLong();
      int rel = in.getInt();
      if (ts <= prevTs || rel < 0) {
        return null;
      }
      index.addTime(ts, rel);
      prevTs = ts;
    }
    return new Loaded(index, segmentSize, nextOffset, maxTs, offsetOfMaxTs);
  }
}
