package io.switchboard.log.format;

import static io.switchboard.log.format.RecordBatchDescriptor.*;

import io.switchboard.core.Header;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Builds one record batch in the v2 format with base offset 0 (the log assigns the real one on
 * append). Confined to one thread; one builder makes one batch at a time, and {@link #reset} makes
 * it ready for the next while keeping its buffer (a hot append path allocates it once).
 */
public final class RecordBatchBuilder {
  private final Compression compression;
  private long producerId = NO_PRODUCER_ID;
  private short producerEpoch = NO_PRODUCER_EPOCH;
  private int baseSequence = NO_SEQUENCE;
  private boolean transactional;
  private boolean control;
  private byte[] records = new byte[256];
  private int recordsSize;
  private int count;
  private int lastOffsetDelta = -1;
  private long baseTimestamp;
  private long maxTimestamp = -1;

  public RecordBatchBuilder(Compression compression) {
    this.compression = compression;
  }

  /** Sets the idempotent-producer fields of the header. */
  public RecordBatchBuilder producer(long id, short epoch, int sequence) {
    this.producerId = id;
    this.producerEpoch = epoch;
    this.baseSequence = sequence;
    return this;
  }

  public RecordBatchBuilder transactional(boolean value) {
    this.transactional = value;
    return this;
  }

  public RecordBatchBuilder control(boolean value) {
    this.control = value;
    return this;
  }

  /** Appends a record with the next offset delta. Borrows the buffers; they are copied. */
  public RecordBatchBuilder append(
      long timestamp, ByteBuffer key, ByteBuffer value, List<Header> headers) {
    return appendWithOffsetDelta(lastOffsetDelta + 1, timestamp, key, value, headers);
  }

  /** Byte-array convenience for {@link #append(long, ByteBuffer, ByteBuffer, List)}. */
  public RecordBatchBuilder appendBytes(
      long timestamp, byte[] key, byte[] value, List<Header> headers) {
    return append(
        timestamp,
        key == null ? null : ByteBuffer.wrap(key),
        value == null ? null : ByteBuffer.wrap(value),
        headers);
  }

  /**
   * Appends a record with an explicit offset delta, greater than the previous one. Compaction uses
   * this to rebuild a batch whose records keep their original offsets.
   */
  public RecordBatchBuilder appendWithOffsetDelta(
      int offsetDelta, long timestamp, ByteBuffer key, ByteBuffer value, List<Header> headers) {
    if (offsetDelta <= lastOffsetDelta) {
      throw new IllegalArgumentException(
          "offset delta " + offsetDelta + " after " + lastOffsetDelta);
    }
    if (count == 0) {
      baseTimestamp = timestamp;
    }
    long tsDelta = timestamp - baseTimestamp;
    int bodySize =
        1
            + Varint.sizeOfVarlong(tsDelta)
            + Varint.sizeOfVarint(offsetDelta)
            + sizeOfBytes(key)
            + sizeOfBytes(value)
            + Varint.sizeOfVarint(headers.size());
    byte[][] headerKeys = new byte[headers.size()][];
    for (int i = 0; i < headers.size(); i++) {
      Header h = headers.get(i);
      headerKeys[i] = h.key().getBytes(StandardCharsets.UTF_8);
      bodySize += Varint.sizeOfVarint(headerKeys[i].length) + headerKeys[i].length;
      bodySize += h.value() == null ? 1 : Varint.sizeOfVarint(h.value().length) + h.value().length;
    }
    int total = Varint.sizeOfVarint(bodySize) + bodySize;
    ensureCapacity(total);
    ByteBuffer out = ByteBuffer.wrap(records, recordsSize, total);
    Varint.writeVarint(bodySize, out);
    out.put((byte) 0);
    Varint.writeVarlong(tsDelta, out);
    Varint.writeVarint(offsetDelta, out);
    writeBytes(key, out);
    writeBytes(value, out);
    Varint.writeVarint(headers.size(), out);
    for (int i = 0; i < headers.size(); i++) {
      Varint.writeVarint(headerKeys[i].length, out);
      out.put(headerKeys[i]);
      byte[] v = headers.get(i).value();
      if (v == null) {
        Varint.writeVarint(-1, out);
      } else {
        Varint.writeVarint(v.length, out);
        out.put(v);
      }
    }
    recordsSize += total;
    count++;
    lastOffsetDelta = offsetDelta;
    maxTimestamp = Math.max(maxTimestamp, timestamp);
    return this;
  }

  /**
   * Overrides the last offset delta (it must not be below the last record's). Compaction keeps a
   * rebuilt batch's original last offset so that offsets never move backwards.
   */
  public RecordBatchBuilder lastOffsetDelta(int delta) {
    if (delta < lastOffsetDelta) {
      throw new IllegalArgumentException("last offset delta " + delta + " < " + lastOffsetDelta);
    }
    this.lastOffsetDelta = delta;
    return this;
  }

  public int recordCount() {
    return count;
  }

  /** Buffers above this are not kept by {@link #reset}: one huge batch does not pin memory. */
  static final int KEEP_BUFFER_BYTES = 1 << 20;

  /**
   * Forgets the records and header fields, ready for a new batch (the compression stays); keeps the
   * buffer when it is at most {@value #KEEP_BUFFER_BYTES} bytes.
   */
  public RecordBatchBuilder reset() {
    producerId = NO_PRODUCER_ID;
    producerEpoch = NO_PRODUCER_EPOCH;
    baseSequence = NO_SEQUENCE;
    transactional = false;
    control = false;
    if (records.length > KEEP_BUFFER_BYTES) {
      records = new byte[256];
    }
    recordsSize = 0;
    count = 0;
    lastOffsetDelta = -1;
    baseTimestamp = 0;
    maxTimestamp = -1;
    return this;
  }

  /** Uncompressed size of the batch built so far. */
  public int estimatedSizeInBytes() {
    return RECORDS_OFFSET + recordsSize;
  }

  /** Builds the batch: a heap buffer, position 0, limit at its end. */
  public ByteBuffer build() {
    if (count == 0) {
      throw new IllegalStateException("a batch needs at least one record");
    }
    ByteBuffer plain = ByteBuffer.wrap(records, 0, recordsSize);
    byte[] body = compression == Compression.NONE ? null : compression.compress(plain);
    int bodySize = body == null ? recordsSize : body.length;
    ByteBuffer batch = ByteBuffer.allocate(RECORDS_OFFSET + bodySize);
    batch.putLong(BASE_OFFSET_OFFSET, 0L);
    batch.putInt(LENGTH_OFFSET, RECORDS_OFFSET + bodySize - LOG_OVERHEAD);
    batch.putInt(PARTITION_LEADER_EPOCH_OFFSET, NO_PARTITION_LEADER_EPOCH);
    batch.put(MAGIC_OFFSET, MAGIC);
    int attributes = compression.id();
    if (transactional) {
      attributes |= TRANSACTIONAL_MASK;
    }
    if (control) {
      attributes |= CONTROL_MASK;
    }
    batch.putShort(ATTRIBUTES_OFFSET, (short) attributes);
    batch.putInt(LAST_OFFSET_DELTA_OFFSET, lastOffsetDelta);
    batch.putLong(BASE_TIMESTAMP_OFFSET, baseTimestamp);
    batch.putLong(MAX_TIMESTAMP_OFFSET, maxTimestamp);
    batch.putLong(PRODUCER_ID_OFFSET, producerId);
    batch.putShort(PRODUCER_EPOCH_OFFSET, producerEpoch);
    batch.putInt(BASE_SEQUENCE_OFFSET, baseSequence);
    batch.putInt(RECORDS_COUNT_OFFSET, count);
    if (body == null) {
      batch.put(RECORDS_OFFSET, records, 0, recordsSize);
    } else {
      batch.put(RECORDS_OFFSET, body);
    }
    CRC32C crc = new CRC32C();
    crc.update(batch.slice(ATTRIBUTES_OFFSET, batch.limit() - ATTRIBUTES_OFFSET));
    batch.putInt(CRC_OFFSET, (int) crc.getValue());
    return batch;
  }

  private static int sizeOfBytes(ByteBuffer b) {
    return b == null ? 1 : Varint.sizeOfVarint(b.remaining()) + b.remaining();
  }

  private static void writeBytes(ByteBuffer b, ByteBuffer out) {
    if (b == null) {
      Varint.writeVarint(-1, out);
    } else {
      Varint.writeVarint(b.remaining(), out);
      out.put(b.duplicate());
    }
  }

  private void ensureCapacity(int extra) {
    if (recordsSize + extra > records.length) {
      records = Arrays.copyOf(records, Math.max(records.length * 2, recordsSize + extra));
    }
  }
}
