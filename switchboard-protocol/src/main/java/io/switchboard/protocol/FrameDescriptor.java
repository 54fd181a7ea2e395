package io.switchboard.protocol;

/**
 * Layout of a native-protocol frame: constants only; thread-safe. The spec is {@code
 * docs/protocol.md}; clause ids in brackets refer to it.
 *
 * <p>Every frame is a 6-byte header followed by {@code bodyLength} bytes of body [P-2.1]. All
 * integers are big-endian [P-1.1].
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   bodyLength (uint32)                         |  0
 * +---------------+---------------+-------------------------------+
 * |  type (uint8) | flags (uint8) |  body ...                     |  4
 * +---------------+---------------+-------------------------------+
 * </pre>
 *
 * <p>{@code flags} has no bits defined in version 1: all must be zero [P-2.3]. The body layouts are
 * drawn in the spec; the primitive encodings are:
 *
 * <pre>
 * str    := len: uint16 (0..65534)  | UTF-8 bytes             [P-1.3]
 * nstr   := len: uint16, 0xFFFF = null | UTF-8 bytes
 * bytes  := len: uint32 (0..2^31-1) | bytes                   [P-1.4]
 * nbytes := len: int32, -1 = null   | bytes
 * headers:= count: uint16 | count x ( name: str | value: nbytes )   [P-1.5]
 * </pre>
 *
 * <p>A HELLO's magic sits at connection offset 6, so a port shared by several protocols recognises
 * the native protocol from its first 10 bytes: {@code byte 4 == 0x01 && byte 5 == 0x00 && bytes
 * 6..9 == "SWBD"} [P-4.1].
 */
public final class FrameDescriptor {
  public static final int LENGTH_OFFSET = 0;
  public static final int TYPE_OFFSET = 4;
  public static final int FLAGS_OFFSET = 5;

  /** Bytes of the fixed header; the body follows. */
  public static final int HEADER_BYTES = 6;

  /** The HELLO magic: ASCII "SWBD" [P-4.1]. */
  public static final int MAGIC = 0x53574244;

  /** Offset of the HELLO magic from the start of a connection, for protocol detection. */
  public static final int MAGIC_CONNECTION_OFFSET = HEADER_BYTES;

  /** Lowest protocol version this codec speaks. */
  public static final int MIN_VERSION = 1;

  /** Highest protocol version this codec speaks. */
  public static final int MAX_VERSION = 1;

  /** Length prefix of a null {@code nstr}. */
  public static final int NULL_STRING = 0xFFFF;

  /** Longest {@code str} the format can carry (its length is a uint16; 0xFFFF means null). */
  public static final int MAX_STRING_BYTES = 0xFFFE;

  /** Length prefix of a null {@code nbytes}. */
  public static final int NULL_BYTES = -1;

  /** Most entries of a batch or list the format can carry (counts are uint16). */
  public static final int MAX_COUNT = 0xFFFF;

  // ---- feature bits, HELLO / WELCOME [P-4.3]

  /** PUBLISH_BATCH and PUB_ACK_BATCH. */
  public static final long FEATURE_BATCH = 1L;

  /** Durable streams: reads, consumers (FETCH, CONSUME, ACKS), stream-aware publish options. */
  public static final long FEATURE_STREAMS = 1L << 1;

  /** ADMIN frames. */
  public static final long FEATURE_ADMIN = 1L << 2;

  /** Every feature version 1 defines. */
  public static final long FEATURES_V1 = FEATURE_BATCH | FEATURE_STREAMS | FEATURE_ADMIN;

  // ---- ERROR options [P-5.3]

  /** The connection closes after this error. */
  public static final int ERROR_FATAL = 0x01;

  // ---- publish entry options [P-6.1]

  public static final int PUB_NO_ACK = 0x01;
  public static final int PUB_EXPECTED_STREAM = 0x02;
  public static final int PUB_MESSAGE_ID = 0x04;
  public static final int PUB_EXPECTED_LAST_OFFSET = 0x08;
  public static final int PUB_PRODUCER = 0x10;
  public static final int PUB_TIMESTAMP = 0x20;
  public static final int PUB_RESERVED = 0xC0;

  // ---- publish ack options [P-6.3]

  public static final int ACK_DUPLICATE = 0x01;

  /** The message waits in the stream's delay store; {@code deliverAtMs: i64} follows the offset. */
  public static final int ACK_DELAYED = 0x02;

  public static final int ACK_RESERVED = 0xFC;

  // ---- ACKS options [P-8.6]

  /** The client wants an ACKED frame with the outcome of each entry. */
  public static final int ACKS_CONFIRM = 0x01;

  public static final int ACKS_RESERVED = 0xFE;

  // ---- fixed sizes, for "is the rest long enough" checks before allocating

  /** Smallest publish entry: options, request id, empty subject, null reply, no headers, ... */
  public static final int MIN_PUBLISH_ENTRY_BYTES = 1 + 4 + 2 + 2 + 2 + 4 + 4;

  /**
   * Smallest publish ack entry: request id, options, durability, null stream, partition, offset.
   */
  public static final int MIN_PUB_ACK_ENTRY_BYTES = 4 + 1 + 1 + 2 + 4 + 8;

  /** Smallest header: empty name and null value. */
  public static final int MIN_HEADER_BYTES = 2 + 4;

  /** Smallest message tail: timestamp, subject, reply, headers, key, payload. */
  public static final int MIN_MESSAGE_TAIL_BYTES = 8 + 2 + 2 + 2 + 4 + 4;

  /** Smallest delivery entry: partition, offset, delivery count and a message tail. */
  public static final int MIN_DELIVERY_ENTRY_BYTES = 4 + 8 + 4 + MIN_MESSAGE_TAIL_BYTES;

  /** Smallest stored entry: partition, offset and a message tail. */
  public static final int MIN_STORED_ENTRY_BYTES = 4 + 8 + MIN_MESSAGE_TAIL_BYTES;

  /** Smallest ACKS entry: kind, partition, offset, delivery count. */
  public static final int MIN_ACK_ENTRY_BYTES = 1 + 4 + 8 + 4;

  private FrameDescriptor() {}

  /**
   * The version both sides speak: the highest in {@code [min, max]} that this codec supports, or 0
   * when there is none [P-4.2].
   */
  public static int negotiateVersion(int min, int max) {
    int high = Math.min(max, MAX_VERSION);
    return high >= Math.max(min, MIN_VERSION) ? high : 0;
  }
}
