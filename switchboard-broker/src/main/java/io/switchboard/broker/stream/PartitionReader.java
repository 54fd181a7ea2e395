package io.switchboard.broker.stream;

import io.switchboard.core.SwitchboardException;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Reads one partition's records in offset order for one reader, decoding each stored batch once:
 * consumers read new messages with it, and the broker's reads of a subject, of a last value and of
 * due delayed messages go through it too. Owner thread only.
 *
 * <p>A read of the log returns whole batches from the one holding the offset asked for, so a reader
 * that takes a few records at a time (a consumer whose credits come back one ack at a time) used to
 * read and decode the same batch again for every few records it took: the cost of a batch grew with
 * the square of its records. This reader keeps the batches of its last read and the decoded records
 * of the batch it is in, and reads the log again only once it has walked past them.
 *
 * <p>Memory: at most one read ({@code readBytes}, plus one batch when a single batch is larger) and
 * the decoded records of one batch, dropped as soon as they are walked past. The log's data below
 * its end never changes in place (retention and compaction remove whole segments or records, and a
 * record taken from a batch read before that is the record as it was stored), so the kept batches
 * stay correct; records past the readable end ({@code end}) are kept but not handed out until the
 * end passes them.
 */
public final class PartitionReader {
  private final PartitionLog log;
  private final int readBytes;
  private final int maxUncompressedBytes;
  private final BiConsumer<Long, SwitchboardException> onReadError;

  /** The batches of the last read not yet walked into, from {@link #batchIndex} on. */
  private List<RecordBatch> batches = List.of();

  private int batchIndex;

  /** The decoded records of the batch being walked, and the next one to look at. */
  private List<Record> records = List.of();

  private int recordIndex;

  /** The batch {@link #records} came from, or null. */
  private RecordBatch current;

  /** Every offset below this is passed: handed out, or skipped as below a reader's position. */
  private long passed = -1;

  /** The next offset of the last batch walked to its end (so gaps after its records are passed). */
  private long walkedTo;

  /** A read error policy for readers whose callers hear of a failed read: it is thrown. */
  public static final BiConsumer<Long, SwitchboardException> RETHROW =
      (offset, e) -> {
        throw e;
      };

  /**
   * @param readBytes bytes of log read at a time (at least one whole batch is always read)
   * @param onReadError told of a failed log read (the offset, the error); the read returns nothing,
   *     unless it throws ({@link #RETHROW})
   */
  public PartitionReader(
      PartitionLog log, int readBytes, BiConsumer<Long, SwitchboardException> onReadError) {
    this(log, readBytes, log.config().maxBatchBytes(), onReadError);
  }

  /**
   * @param maxUncompressedBytes how far a compressed batch may inflate (the log's largest batch for
   *     what the broker wrote; a reader of producers' own batches may allow more)
   */
  public PartitionReader(
      PartitionLog log,
      int readBytes,
      int maxUncompressedBytes,
      BiConsumer<Long, SwitchboardException> onReadError) {
    this.log = log;
    this.readBytes = readBytes;
    this.maxUncompressedBytes = maxUncompressedBytes;
    this.onReadError = onReadError;
  }

  /**
   * The first record at or after offset {@code from} and below {@code end}, or null when there is
   * none yet (or the read failed; see the constructor). A record handed out is passed: the next
   * call must ask from past it. Asking from an offset below what was passed starts afresh.
   *
   * @throws SwitchboardException a stored batch that does not decode (as {@link
   *     RecordBatch#records})
   */
  public Record next(long from, long end) {
    if (from < passed) {
      reset();
    }
    passed = Math.max(passed, from);
    long readAt = -1;
    while (true) {
      while (recordIndex < records.size()) {
        Record r = records.get(recordIndex);
        if (r.offset() < from) {
          recordIndex++;
          continue;
        }
        if (r.offset() >= end) {
          return null; // stored but not yet readable (not yet forced under fsync=always)
        }
        recordIndex++;
        passed = r.offset() + 1;
        return r;
      }
      if (current != null) {
        walkedTo = Math.max(walkedTo, current.nextOffset());
        current = null;
        records = List.of();
        recordIndex = 0;
      }
      if (batchIndex < batches.size()) {
        current = batches.get(batchIndex);
        batches.set(batchIndex++, null); // walked into: its bytes go with its records
        records = current.records(maxUncompressedBytes);
        continue;
      }
      batches = List.of();
      batchIndex = 0;
      long at = Math.max(from, walkedTo);
      if (at >= end || at <= readAt) {
        return null; // nothing more yet, or a read that moved nothing on
      }
      readAt = at;
      List<RecordBatch> read;
      try {
        read = log.read(at, readBytes).batches();
      } catch (SwitchboardException e) {
        onReadError.accept(at, e);
        return null;
      }
      if (read.isEmpty()) {
        return null;
      }
      batches = new java.util.ArrayList<>(read);
    }
  }

  /**
   * Where a reader that was handed everything below {@code from} stands after batches walked to
   * their end: past any offsets their records left out (compacted away). At least {@code from}.
   */
  public long position(long from) {
    return from >= passed ? Math.max(from, walkedTo) : from;
  }

  /** Drops what is kept (the next read starts from the log). */
  public void reset() {
    batches = List.of();
    batchIndex = 0;
    records = List.of();
    recordIndex = 0;
    current = null;
    passed = -1;
    walkedTo = 0;
  }

  /**
   * The record at exactly {@code offset}, read from the log (not from what is kept), or null when
   * retention or compaction removed it or the read failed (see the constructor).
   */
  public Record readAt(long offset) {
    if (offset < log.logStartOffset() || offset >= log.logEndOffset()) {
      return null;
    }
    try {
      for (RecordBatch b : log.read(offset, 1).batches()) {
        for (Record r : b.records(maxUncompressedBytes)) {
          if (r.offset() == offset) {
            return r;
          }
        }
      }
    } catch (SwitchboardException e) {
      onReadError.accept(offset, e);
    }
    return null;
  }
}
