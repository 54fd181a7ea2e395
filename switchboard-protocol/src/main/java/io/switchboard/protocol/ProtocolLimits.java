package io.switchboard.protocol;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;
import java.util.ArrayList;
import java.util.List;

/**
 * What a decoder accepts from its peer ({@code docs/protocol.md} [P-9]). Immutable; the compact
 * constructor reports every bad value at once. Each bound is checked before anything is allocated
 * for the field it bounds, so a hostile peer can make a decoder hold at most one frame of {@code
 * maxFrameBytes}.
 *
 * @param maxFrameBytes largest frame, header included
 * @param maxSubjectBytes largest subject, reply subject or pattern, in UTF-8 bytes
 * @param maxStringBytes largest other string (names, queue groups, message ids, error text) and
 *     auth token
 * @param maxHeaderCount most headers on one message
 * @param maxHeadersBytes most bytes of header names and values on one message
 * @param maxBatchEntries most entries in one batch or list frame
 */
public record ProtocolLimits(
    int maxFrameBytes,
    int maxSubjectBytes,
    int maxStringBytes,
    int maxHeaderCount,
    int maxHeadersBytes,
    int maxBatchEntries) {

  /**
   * 8 MiB: a stream's default largest message (1 MiB) with room for batching; raise it to carry
   * messages up to a stream's 16 MiB cap. Bounds the memory one connection can pin while a frame
   * arrives.
   */
  public static final int DEFAULT_MAX_FRAME_BYTES = 8 << 20;

  /** 64 MiB: the hard cap; above it one slow connection could hold too much of the heap. */
  public static final int MAX_FRAME_BYTES = 64 << 20;

  /**
   * 1 KiB, the same bound the broker puts on subjects ({@link SubjectLimits#DEFAULT_MAX_BYTES}).
   */
  public static final int DEFAULT_MAX_SUBJECT_BYTES = SubjectLimits.DEFAULT_MAX_BYTES;

  /** 8 KiB: names are at most 64 bytes, but error texts and bearer tokens (JWTs) run longer. */
  public static final int DEFAULT_MAX_STRING_BYTES = 8 << 10;

  /**
   * 128 headers: more than any tracing or routing scheme uses; bounds the objects one message can
   * make a decoder allocate.
   */
  public static final int DEFAULT_MAX_HEADER_COUNT = 128;

  /** 64 KiB of headers, as Kafka and HTTP servers commonly allow; metadata, not payload. */
  public static final int DEFAULT_MAX_HEADERS_BYTES = 64 << 10;

  /**
   * 1,024 entries per batch: amortizes the frame header well past the point of diminishing returns,
   * while one frame cannot make the decoder build hundreds of thousands of tiny objects.
   */
  public static final int DEFAULT_MAX_BATCH_ENTRIES = 1024;

  /** The defaults above. */
  public static final ProtocolLimits DEFAULTS =
      new ProtocolLimits(
          DEFAULT_MAX_FRAME_BYTES,
          DEFAULT_MAX_SUBJECT_BYTES,
          DEFAULT_MAX_STRING_BYTES,
          DEFAULT_MAX_HEADER_COUNT,
          DEFAULT_MAX_HEADERS_BYTES,
          DEFAULT_MAX_BATCH_ENTRIES);

  public ProtocolLimits {
    List<String> problems = new ArrayList<>();
    if (maxFrameBytes < 1024 || maxFrameBytes > MAX_FRAME_BYTES) {
      problems.add("maxFrameBytes=" + maxFrameBytes + " not in [1024, " + MAX_FRAME_BYTES + "]");
    }
    if (maxSubjectBytes < 1 || maxSubjectBytes > FrameDescriptor.MAX_STRING_BYTES) {
      problems.add("maxSubjectBytes=" + maxSubjectBytes + " not in [1, 65534]");
    }
    if (maxStringBytes < 64 || maxStringBytes > FrameDescriptor.MAX_STRING_BYTES) {
      problems.add("maxStringBytes=" + maxStringBytes + " not in [64, 65534]");
    }
    if (maxHeaderCount < 0 || maxHeaderCount > FrameDescriptor.MAX_COUNT) {
      problems.add("maxHeaderCount=" + maxHeaderCount + " not in [0, 65535]");
    }
    if (maxHeadersBytes < 0) {
      problems.add("maxHeadersBytes=" + maxHeadersBytes + " must be >= 0");
    }
    if (maxBatchEntries < 1 || maxBatchEntries > FrameDescriptor.MAX_COUNT) {
      problems.add("maxBatchEntries=" + maxBatchEntries + " not in [1, 65535]");
    }
    if (!problems.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "protocol limits: " + String.join("; ", problems));
    }
  }

  /** A copy with another {@code maxFrameBytes}. */
  public ProtocolLimits withMaxFrameBytes(int bytes) {
    return new ProtocolLimits(
        bytes, maxSubjectBytes, maxStringBytes, maxHeaderCount, maxHeadersBytes, maxBatchEntries);
  }
}
