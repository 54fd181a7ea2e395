package io.switchboard.log.format;

import io.switchboard.core.Header;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One record of a batch, with its absolute offset and timestamp. Immutable; key and value are
 * read-only views that may share memory with the batch they were parsed from.
 *
 * @param offset the record's offset in its partition
 * @param timestamp milliseconds since the epoch
 * @param key the key, or {@code null}
 * @param value the value, or {@code null} (a tombstone in a compacted log)
 * @param headers the headers, in order
 */
public record Record(
    long offset, long timestamp, ByteBuffer key, ByteBuffer value, List<Header> headers) {

  /** The value of the first header named {@code name}, or {@code null}. */
  public byte[] header(String name) {
    for (Header h : headers) {
      if (h.key().equals(name)) {
        return h.value();
      }
    }
    return null;
  }

  /** The subject this record was published on, or {@code null} when it carries none. */
  public String subject() {
    byte[] raw = header(RecordBatchDescriptor.SUBJECT_HEADER);
    return raw == null ? null : new String(raw, StandardCharsets.UTF_8);
  }

  /** A copy of the key's bytes, or {@code null}. */
  public byte[] keyBytes() {
    return copy(key);
  }

  /** A copy of the value's bytes, or {@code null}. */
  public byte[] valueBytes() {
    return copy(value);
  }

  private static byte[] copy(ByteBuffer b) {
    if (b == null) {
      return null;
    }
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
