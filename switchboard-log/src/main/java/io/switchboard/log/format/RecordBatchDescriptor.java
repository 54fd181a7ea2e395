package io.switchboard.log.format;

/**
 * Layout of a record batch: Kafka's RecordBatch v2 (magic 2), byte for byte, so that the Kafka
 * front end can serve fetches straight from segment files. Constants only; thread-safe.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                     baseOffset (int64)                        |  0
 * |                                                               |
 * +---------------------------------------------------------------+
 * |         batchLength (int32): bytes after this field           |  8
 * +---------------------------------------------------------------+
 * |               partitionLeaderEpoch (int32)                    | 12
 * +---------------+-----------------------------------------------+
 * | magic (int8)=2|  crc (uint32, CRC-32C of attributes..end) ... | 16
 * +---------------+---------------+-------------------------------+
 * |  ... crc      | attributes (int16)            | lastOffsetDelta | 20
 * +---------------+-------------------------------+-------------------+
 * |  ... lastOffsetDelta (int32)  | baseTimestamp (int64) ...          | 24
 * |  maxTimestamp (int64) at 35, producerId (int64) at 43,            |
 * |  producerEpoch (int16) at 51, baseSequence (int32) at 53,         |
 * |  recordCount (int32) at 57, records from 61                       |
 * +-------------------------------------------------------------------+
 * </pre>
 *
 * <p>Attributes: bits 0–2 compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp
 * type (0 create time, 1 log-append time), bit 4 transactional, bit 5 control, bit 6 has delete
 * horizon. Each record, inside the (possibly compressed) records section:
 *
 * <pre>
 * length: varint | attributes: int8 | timestampDelta: varlong | offsetDelta: varint
 * keyLength: varint (-1 = null) | key | valueLength: varint (-1 = null) | value
 * headerCount: varint | [ keyLength: varint | key (UTF-8) | valueLength: varint | value ]*
 * </pre>
 *
 * Varints are zig-zag encoded as in protobuf's sint32/sint64. Switchboard carries a record's
 * subject in the header {@link #SUBJECT_HEADER}.
 */
public final class RecordBatchDescriptor {
  public static final int BASE_OFFSET_OFFSET = 0;
  public static final int LENGTH_OFFSET = 8;
  public static final int PARTITION_LEADER_EPOCH_OFFSET = 12;
  public static final int MAGIC_OFFSET = 16;
  public static final int CRC_OFFSET = 17;
  public static final int ATTRIBUTES_OFFSET = 21;
  public static final int LAST_OFFSET_DELTA_OFFSET = 23;
  public static final int BASE_TIMESTAMP_OFFSET = 27;
  public static final int MAX_TIMESTAMP_OFFSET = 35;
  public static final int PRODUCER_ID_OFFSET = 43;
  public static final int PRODUCER_EPOCH_OFFSET = 51;
  public static final int BASE_SEQUENCE_OFFSET = 53;
  public static final int RECORDS_COUNT_OFFSET = 57;
  public static final int RECORDS_OFFSET = 61;

  /** Bytes before the length-counted part: baseOffset and batchLength. */
  public static final int LOG_OVERHEAD = LENGTH_OFFSET + 4;

  /** The smallest legal batch: a header with no records. */
  public static final int HEADER_SIZE = RECORDS_OFFSET;

  public static final byte MAGIC = 2;

  public static final int COMPRESSION_MASK = 0x07;
  public static final int TIMESTAMP_TYPE_MASK = 0x08;
  public static final int TRANSACTIONAL_MASK = 0x10;
  public static final int CONTROL_MASK = 0x20;

  public static final long NO_PRODUCER_ID = -1L;
  public static final short NO_PRODUCER_EPOCH = -1;
  public static final int NO_SEQUENCE = -1;
  public static final int NO_PARTITION_LEADER_EPOCH = -1;

  /** Record header that carries the subject a record was published on. */
  public static final String SUBJECT_HEADER = "sb-subject";

  private RecordBatchDescriptor() {}
}
