package io.switchboard.log.format;

import static io.switchboard.log.format.RecordBatchDescriptor.*;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A read-only view of one record batch (layout in {@link RecordBatchDescriptor}). Immutable as long
 * as nobody writes to the wrapped buffer; safe to share between threads then.
 */
public final class RecordBatch {
  private final ByteBuffer buffer;

  private RecordBatch(ByteBuffer buffer) {
    this.buffer = buffer;
  }

  /**
   * Wraps the batch starting at {@code src}'s position. Borrows {@code src} and shares its memory;
   * checks only that the declared length fits in the remaining bytes.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_INVALID_BATCH} when it does not fit
   */
  public static RecordBatch wrap(ByteBuffer src) {
    int remaining = src.remaining();
    if (remaining < HEADER_SIZE) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, remaining + " bytes is less than a batch header");
    }
    int size = declaredSize(src, src.position());
    if (size < HEADER_SIZE || size > remaining) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH,
          "declared size " + size + " does not fit the " + remaining + " bytes given");
    }
    ByteBuffer slice = src.slice(src.position(), size).order(ByteOrder.BIG_ENDIAN);
    return new RecordBatch(slice);
  }

  /**
   * Splits {@code src} (borrowed, position unchanged) into the batches it holds. A partial batch at
   * the end is left out, as in a Kafka fetch response.
   */
  public static List<RecordBatch> readAll(ByteBuffer src) {
    List<RecordBatch> batches = new ArrayList<>();
    int at = src.position();
    while (src.limit() - at >= HEADER_SIZE) {
      int size = declaredSize(src, at);
      if (size < HEADER_SIZE) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "declared size " + size);
      }
      if (size > src.limit() - at) {
        break;
      }
      batches.add(new RecordBatch(src.slice(at, size).order(ByteOrder.BIG_ENDIAN)));
      at += size;
    }
    return batches;
  }

  /** The whole size of the batch starting at {@code at}: its length field plus the overhead. */
  public static int declaredSize(ByteBuffer src, int at) {
    return src.getInt(at + LENGTH_OFFSET) + LOG_OVERHEAD;
  }

  /**
   * Overwrites the base offset of the batch at {@code batch}'s position; the CRC does not cover it.
   */
  public static void setBaseOffset(ByteBuffer batch, long baseOffset) {
    batch.putLong(batch.position() + BASE_OFFSET_OFFSET, baseOffset);
  }

  /** Overwrites the leader epoch of the batch at {@code batch}'s position (not CRC-covered). */
  public static void setPartitionLeaderEpoch(ByteBuffer batch, int epoch) {
    batch.putInt(batch.position() + PARTITION_LEADER_EPOCH_OFFSET, epoch);
  }

  public int sizeInBytes() {
    return buffer.limit();
  }

  /** A read-only duplicate of the batch's bytes, position 0. */
  public ByteBuffer buffer() {
    return buffer.asReadOnlyBuffer();
  }

  public long baseOffset() {
    return buffer.getLong(BASE_OFFSET_OFFSET);
  }

  public int lastOffsetDelta() {
    return buffer.getInt(LAST_OFFSET_DELTA_OFFSET);
  }

  public long lastOffset() {
    return baseOffset() + lastOffsetDelta();
  }

  public long nextOffset() {
    return lastOffset() + 1;
  }

  public int partitionLeaderEpoch() {
    return buffer.getInt(PARTITION_LEADER_EPOCH_OFFSET);
  }

  public byte magic() {
    return buffer.get(MAGIC_OFFSET);
  }

  public long checksum() {
    return buffer.getInt(CRC_OFFSET) & 0xffffffffL;
  }

  /** CRC-32C of attributes through the end of the batch. */
  public long computeChecksum() {
    CRC32C crc = new CRC32C();
    crc.update(buffer.slice(ATTRIBUTES_OFFSET, buffer.limit() - ATTRIBUTES_OFFSET));
    return crc.getValue();
  }

  /** Magic is 2 and the stored CRC matches the bytes. */
  public boolean isValid() {
    return magic() == MAGIC && checksum() == computeChecksum();
  }

  public short attributes() {
    return buffer.getShort(ATTRIBUTES_OFFSET);
  }

  public Compression compression() {
    return Compression.fromId(attributes() & COMPRESSION_MASK);
  }

  public boolean isLogAppendTime() {
    return (attributes() & TIMESTAMP_TYPE_MASK) != 0;
  }

  public boolean isTransactional() {
    return (attributes() & TRANSACTIONAL_MASK) != 0;
  }

  public boolean isControl() {
    return (attributes() & CONTROL_MASK) != 0;
  }

  public long baseTimestamp() {
    return buffer.getLong(BASE_TIMESTAMP_OFFSET);
  }

  public long maxTimestamp() {
    return buffer.getLong(MAX_TIMESTAMP_OFFSET);
  }

  public long producerId() {
    return buffer.getLong(PRODUCER_ID_OFFSET);
  }

  public short producerEpoch() {
    return buffer.getShort(PRODUCER_EPOCH_OFFSET);
  }

  public int baseSequence() {
    return buffer.getInt(BASE_SEQUENCE_OFFSET);
  }

  public int recordCount() {
    return buffer.getInt(RECORDS_COUNT_OFFSET);
  }

  /**
   * Parses every record, inflating compressed batches up to {@code maxUncompressedBytes}.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_INVALID_BATCH} on malformed records, {@link
   *     ErrorCode#LOG_DECOMPRESSION_LIMIT} past the limit
   */
  public List<Record> records(int maxUncompressedBytes) {
    int count = recordCount();
    if (count < 0) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "negative record count");
    }
    ByteBuffer body = buffer.slice(RECORDS_OFFSET, buffer.limit() - RECORDS_OFFSET);
    ByteBuffer in = compression().decompress(body, maxUncompressedBytes);
    // Each record takes at least 7 bytes, so a count beyond that is a lie; checked before
    // allocating the list.
    if (count > in.remaining() / 7 + 1) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, "record count " + count + " exceeds what the bytes hold");
    }
    List<Record> records = new ArrayList<>(count);
    long base = baseOffset();
    long baseTs = baseTimestamp();
    boolean appendTime = isLogAppendTime();
    long maxTs = maxTimestamp();
    for (int i = 0; i < count; i++) {
      records.add(readRecord(in, base, baseTs, appendTime, maxTs));
    }
    if (in.hasRemaining()) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, in.remaining() + " bytes after the last record");
    }
    return records;
  }

  /**
   * Slices the next length-prefixed record out of {@code in} (moving past it), positioned after its
   * attributes byte, which the format leaves unused.
   */
  private static ByteBuffer nextRecord(ByteBuffer in) {
    int length = Varint.readVarint(in);
    if (length < 1 || length > in.remaining()) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "record length " + length);
    }
    ByteBuffer rec = in.slice(in.position(), length);
    in.position(in.position() + length);
    rec.get();
    return rec;
  }

  private static Record readRecord(
      ByteBuffer in, long baseOffset, long baseTs, boolean appendTime, long maxTs) {
    ByteBuffer rec = nextRecord(in);
    long tsDelta = Varint.readVarlong(rec);
    int offsetDelta = Varint.readVarint(rec);
    ByteBuffer key = readBytes(rec, "key");
    ByteBuffer value = readBytes(rec, "value");
    int headerCount = Varint.readVarint(rec);
    if (headerCount < 0 || headerCount > rec.remaining()) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "header count " + headerCount);
    }
    List<Header> headers = headerCount == 0 ? List.of() : new ArrayList<>(headerCount);
    for (int h = 0; h < headerCount; h++) {
      String name = readHeaderKey(rec);
      int len = byteLength(rec, "header value");
      byte[] hvBytes = null;
      if (len >= 0) {
        hvBytes = new byte[len];
        rec.get(hvBytes);
      }
      headers.add(new Header(name, hvBytes));
    }
    if (rec.hasRemaining()) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "record longer than its fields");
    }
    long timestamp = appendTime ? maxTs : baseTs + tsDelta;
    return new Record(baseOffset + offsetDelta, timestamp, key, value, headers);
  }

  /**
   * The length of the next bytes field of {@code rec} (-1 for null), checked against what is left.
   */
  private static int byteLength(ByteBuffer rec, String what) {
    int len = Varint.readVarint(rec);
    if (len < -1) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, what + " length " + len);
    }
    if (len > rec.remaining()) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, what + " length " + len + " beyond the record");
    }
    return len;
  }

  /** The keys every stored message carries, returned as the constant rather than a new string. */
  private static final byte[] SUBJECT_KEY =
      RecordBatchDescriptor.SUBJECT_HEADER.getBytes(StandardCharsets.UTF_8);

  /**
   * Reads a header key. Decoded straight from the record's bytes ({@code Charset.decode} through a
   * buffer slice was 3% of a consumer's profile), and the subject header, which every record stored
   * by the broker has, answers with the shared constant.
   */
  private static String readHeaderKey(ByteBuffer rec) {
    int len = byteLength(rec, "header key");
    if (len < 0) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "null header key");
    }
    int at = rec.position();
    rec.position(at + len);
    byte[] bytes;
    int from;
    if (rec.hasArray()) {
      bytes = rec.array();
      from = rec.arrayOffset() + at;
    } else {
      bytes = new byte[len];
      rec.get(at, bytes);
      from = 0;
    }
    if (java.util.Arrays.equals(bytes, from, from + len, SUBJECT_KEY, 0, SUBJECT_KEY.length)) {
      return RecordBatchDescriptor.SUBJECT_HEADER;
    }
    return new String(bytes, from, len, StandardCharsets.UTF_8);
  }

  private static ByteBuffer readBytes(ByteBuffer rec, String what) {
    int len = Varint.readVarint(rec);
    if (len < 0) {
      if (len != -1) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, what + " length " + len);
      }
      return null;
    }
    if (len > rec.remaining()) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, what + " length " + len + " beyond the record");
    }
    ByteBuffer out = rec.slice(rec.position(), len).asReadOnlyBuffer();
    rec.position(rec.position() + len);
    return out;
  }

  /**
   * Checks everything an appended batch must satisfy: size within {@code maxBatchBytes}, magic 2,
   * CRC, a known codec, at least one record, records that parse (inflated within the limit) with
   * offset deltas 0..n-1 and a matching last offset delta.
   *
   * @return the number of records
   * @throws SwitchboardException {@link ErrorCode#LOG_BATCH_TOO_LARGE}, {@link
   *     ErrorCode#LOG_INVALID_BATCH}, {@link ErrorCode#LOG_UNSUPPORTED_COMPRESSION} or {@link
   *     ErrorCode#LOG_DECOMPRESSION_LIMIT}
   */
  public int validateForAppend(int maxBatchBytes) {
    if (sizeInBytes() > maxBatchBytes) {
      throw SwitchboardException.of(ErrorCode.LOG_BATCH_TOO_LARGE, sizeInBytes(), maxBatchBytes);
    }
    if (magic() != MAGIC) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "magic " + magic() + ", not 2");
    }
    if (checksum() != computeChecksum()) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "CRC mismatch");
    }
    int count = recordCount();
    if (count < 1) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "record count " + count);
    }
    if (lastOffsetDelta() != count - 1) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH,
          "last offset delta " + lastOffsetDelta() + " for " + count + " records");
    }
    ByteBuffer body = buffer.slice(RECORDS_OFFSET, buffer.limit() - RECORDS_OFFSET);
    ByteBuffer in = compression().decompress(body, maxBatchBytes);
    // Walks the records without materializing them: this runs on every append.
    for (int i = 0; i < count; i++) {
      checkRecord(in, i);
    }
    if (in.hasRemaining()) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, in.remaining() + " bytes after the last record");
    }
    return count;
  }

  /** Checks one record's structure and that its offset delta is {@code index}; moves past it. */
  private static void checkRecord(ByteBuffer in, int index) {
    ByteBuffer rec = nextRecord(in);
    Varint.readVarlong(rec);
    int offsetDelta = Varint.readVarint(rec);
    if (offsetDelta != index) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, "record " + index + " has offset delta " + offsetDelta);
    }
    skipBytes(rec, "key");
    skipBytes(rec, "value");
    int headerCount = Varint.readVarint(rec);
    if (headerCount < 0 || headerCount > rec.remaining()) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "header count " + headerCount);
    }
    for (int h = 0; h < headerCount; h++) {
      if (skipBytes(rec, "header key") < 0) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "null header key");
      }
      skipBytes(rec, "header value");
    }
    if (rec.hasRemaining()) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "record longer than its fields");
    }
  }

  /** Skips a length-prefixed field; returns its length (-1 for null). */
  private static int skipBytes(ByteBuffer rec, String what) {
    int len = Varint.readVarint(rec);
    if (len < -1) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, what + " length " + len);
    }
    if (len > rec.remaining()) {
      throw SwitchboardException.of(
          ErrorCode.LOG_INVALID_BATCH, what + " length " + len + " beyond the record");
    }
    if (len > 0) {
      rec.position(rec.position() + len);
    }
    return len;
  }

  @Override
  public String toString() {
    return "RecordBatch[base="
        + baseOffset()
        + ", last="
        + lastOffset()
        + ", size="
        + sizeInBytes()
        + ", records="
        + recordCount()
        + ", "
        + (attributes() & COMPRESSION_MASK)
        + "]";
  }
}
