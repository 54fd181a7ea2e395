package io.switchboard.log;

import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import io.switchboard.log.io.StorageFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One compaction pass over a log's sealed segments: keeps the latest record per key (per subject
 * when a record has no key), drops tombstones (null values) older than the delete retention, and
 * keeps every record's offset. With a per-subject limit instead ({@link
 * LogConfig#maxRecordsPerSubject()}), keeps the newest that many records of each subject. Confined
 * to the maintenance thread; the caller holds the log's maintenance lock, so retention cannot
 * delete a segment under it, and appends, which only touch the active segment, are never blocked.
 *
 * <p>Crash safety of a segment swap: the cleaned copy is written to {@code <base>.log.cleaned} and
 * forced; renamed to {@code <base>.log.swap} (now complete) and the directory forced; the old index
 * is deleted, the swap file renamed over {@code <base>.log}, the directory forced, and a new index
 * written. Recovery deletes a {@code .cleaned} file and finishes a {@code .swap}.
 */
public final class LogCompactor {

  /**
   * What one pass did.
   *
   * @param segmentsCleaned segments rewritten
   * @param recordsRemoved records dropped (superseded, or expired tombstones)
   * @param bytesBefore size of the rewritten segments before
   * @param bytesAfter their size after
   */
  public record Stats(int segmentsCleaned, long recordsRemoved, long bytesBefore, long bytesAfter) {
    public static final Stats NONE = new Stats(0, 0, 0, 0);
  }

  private final PartitionLog log;

  LogCompactor(PartitionLog log) {
    this.log = log;
  }

  Stats run() throws IOException {
    List<Segment> sealed = log.sealedSegments();
    // Pass 1 counts each key's records in the sealed segments; pass 2 drops a key's oldest records
    // while more than `keep` of them remain. Memory: one counter per key, whatever `keep` is.
    Map<ByteBuffer, long[]> counts = new HashMap<>();
    int scanned = 0;
    int maxKeys = log.config.compactionMaxKeys();
    for (Segment seg : sealed) {
      int before = counts.size();
      boolean[] full = {false};
      forEachRecord(
          seg,
          r -> {
            ByteBuffer key = keyOf(r);
            if (key != null && !full[0]) {
              counts.computeIfAbsent(key, k -> new long[1])[0]++;
              full[0] = counts.size() > maxKeys;
            }
          });
      if (full[0]) {
        // This segment's keys did not all fit: compact only the segments scanned whole. The
        // partial counts only name records that exist and are newer, so they stay correct.
        if (before == 0) {
          return Stats.NONE;
        }
        break;
      }
      scanned++;
    }
    long now = log.clock.nowMs();
    int cleaned = 0;
    long removed = 0;
    long bytesBefore = 0;
    long bytesAfter = 0;
    for (int i = 0; i < scanned; i++) {
      Segment seg = sealed.get(i);
      long[] removedHere = {0};
      ByteBuffer out = rewrite(seg, counts, now, removedHere);
      if (removedHere[0] == 0) {
        continue;
      }
      bytesBefore += seg.size();
      bytesAfter += out.remaining();
      swap(seg, out);
      cleaned++;
      removed += removedHere[0];
    }
    return new Stats(cleaned, removed, bytesBefore, bytesAfter);
  }

  /** Records kept per key: one under key compaction, else the per-subject limit. */
  private long keep() {
    return bySubject() ? log.config.maxRecordsPerSubject() : 1;
  }

  /** Per-subject limit mode: keys are subjects only and tombstones are ordinary records. */
  private boolean bySubject() {
    return log.config.cleanup() != CleanupPolicy.COMPACT;
  }

  /**
   * Key of a record for compaction: its key, else its subject, else null (never removed); in
   * per-subject mode its subject only.
   */
  private ByteBuffer keyOf(Record r) {
    if (r.key() != null && !bySubject()) {
      byte[] k = new byte[r.key().remaining() + 1];
      k[0] = 'k';
      r.key().duplicate().get(k, 1, k.length - 1);
      return ByteBuffer.wrap(k);
    }
    byte[] subject = r.header(RecordBatchDescriptor.SUBJECT_HEADER);
    if (subject == null) {
      return null;
    }
    byte[] k = new byte[subject.length + 1];
    k[0] = 's';
    System.arraycopy(subject, 0, k, 1, subject.length);
    return ByteBuffer.wrap(k);
  }

  private void forEachRecord(Segment seg, Consumer<Record> action) throws IOException {
    forEachBatch(seg, b -> b.records(log.config.maxBatchBytes()).forEach(action));
  }

  private void forEachBatch(Segment seg, Consumer<RecordBatch> action) throws IOException {
    int size = seg.readableSize();
    seg.verify(0, size);
    int pos = 0;
    int chunkBytes = 1 << 20;
    while (pos < size) {
      ByteBuffer chunk = ByteBuffer.allocate(Math.min(chunkBytes, size - pos));
      seg.read(chunk, pos);
      chunk.flip();
      List<RecordBatch> batches = RecordBatch.readAll(chunk);
      if (batches.isEmpty()) {
        chunkBytes = RecordBatch.declaredSize(chunk, 0); // one batch larger than the chunk
        continue;
      }
      for (RecordBatch b : batches) {
        action.accept(b);
        pos += b.sizeInBytes();
      }
    }
  }

  /** The segment's batches with superseded records and expired tombstones left out. */
  private ByteBuffer rewrite(Segment seg, Map<ByteBuffer, long[]> counts, long now, long[] removed)
      throws IOException {
    ByteBuffer[] out = {ByteBuffer.allocate(Math.max(1024, seg.size()))};
    long tombstoneHorizon = now - log.config.deleteRetentionMs();
    long keep = keep();
    boolean expireTombstones = !bySubject();
    forEachBatch(
        seg,
        batch -> {
          List<Record> records = batch.records(log.config.maxBatchBytes());
          RecordBatchBuilder builder = null;
          int kept = 0;
          for (Record r : records) {
            ByteBuffer key = keyOf(r);
            long[] remaining = key == null ? null : counts.get(key);
            boolean superseded = remaining != null && remaining[0] > keep;
            if (superseded) {
              remaining[0]--;
            }
            boolean expiredTombstone =
                expireTombstones && r.value() == null && r.timestamp() < tombstoneHorizon;
            if (superseded || expiredTombstone) {
              removed[0]++;
              continue;
            }
            if (builder == null) {
              builder =
                  new RecordBatchBuilder(batch.compression())
                      .producer(batch.producerId(), batch.producerEpoch(), batch.baseSequence())
                      .transactional(batch.isTransactional())
                      .control(batch.isControl());
            }
            builder.appendWithOffsetDelta(
                (int) (r.offset() - batch.baseOffset()),
                r.timestamp(),
                r.key(),
                r.value(),
                r.headers());
            kept++;
          }
          ByteBuffer bytes;
          if (kept == records.size()) {
            bytes = batch.buffer();
          } else if (kept == 0) {
            return;
          } else {
            bytes = builder.lastOffsetDelta(batch.lastOffsetDelta()).build();
            RecordBatch.setBaseOffset(bytes, batch.baseOffset());
          }
          if (out[0].remaining() < bytes.remaining()) {
            ByteBuffer bigger = ByteBuffer.allocate(out[0].capacity() * 2 + bytes.remaining());
            out[0].flip();
            bigger.put(out[0]);
            out[0] = bigger;
          }
          out[0].put(bytes);
        });
    return out[0].flip();
  }

  private void swap(Segment old, ByteBuffer content) throws IOException {
    Path dir = log.dir;
    Path cleaned = dir.resolve(Segment.name(old.baseOffset, Segment.LOG_SUFFIX + ".cleaned"));
    Path swap = dir.resolve(Segment.name(old.baseOffset, Segment.LOG_SUFFIX + ".swap"));
    try (StorageFile f = log.io.open(cleaned, true)) {
      f.truncate(0);
      f.write(content, 0);
      f.force();
    }
    log.io.move(cleaned, swap);
    log.io.forceDirectory(dir);
    if (!log.segments.containsKey(old.baseOffset) || log.segments.get(old.baseOffset) != old) {
      log.io.delete(swap); // retention removed it meanwhile
      log.io.forceDirectory(dir);
      return;
    }
    log.io.delete(old.indexPath);
    log.io.move(swap, old.logPath);
    log.io.forceDirectory(dir);
    Segment fresh =
        Segment.open(
            log.io,
            dir,
            old.baseOffset,
            false,
            old.nextOffset(),
            log.clock.nowMs(),
            log.config.indexIntervalBytes());
    fresh.writeIndex(log.io);
    log.segments.put(old.baseOffset, fresh);
    old.close();
  }
}
