package io.switchboard.log.format;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.xerial.snappy.SnappyInputStream;
import org.xerial.snappy.SnappyOutputStream;

/**
 * The compression codecs of the batch format, with the ids of the attributes' low three bits and
 * the stream framings Kafka uses (gzip member, xerial snappy framing, LZ4 frame with independent 64
 * KiB blocks, zstd frame), so batches are readable by Kafka clients both ways. Thread-safe.
 */
public enum Compression {
  NONE(0),
  GZIP(1),
  SNAPPY(2),
  LZ4(3),
  ZSTD(4);

  private static final Compression[] BY_ID = {NONE, GZIP, SNAPPY, LZ4, ZSTD};

  /** Read granularity while inflating; a bounded decompression never reads past limit + this. */
  private static final int CHUNK_BYTES = 8192;

  private final int id;

  Compression(int id) {
    this.id = id;
  }

  public int id() {
    return id;
  }

  /**
   * The codec with attribute id {@code id}.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_UNSUPPORTED_COMPRESSION} for unknown ids
   */
  public static Compression fromId(int id) {
    if (id < 0 || id >= BY_ID.length) {
      throw SwitchboardException.of(ErrorCode.LOG_UNSUPPORTED_COMPRESSION, id);
    }
    return BY_ID[id];
  }

  /** Compresses {@code src}'s remaining bytes (borrowed; its position is not moved). */
  public byte[] compress(ByteBuffer src) {
    if (this == NONE) {
      byte[] copy = new byte[src.remaining()];
      src.duplicate().get(copy);
      return copy;
    }
    ByteArrayOutputStream sink = new ByteArrayOutputStream(Math.max(64, src.remaining() / 2));
    try (OutputStream out = wrap(sink)) {
      if (src.hasArray()) {
        out.write(src.array(), src.arrayOffset() + src.position(), src.remaining());
      } else {
        byte[] copy = new byte[src.remaining()];
        src.duplicate().get(copy);
        out.write(copy);
      }
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.INTERNAL, "compression with " + this);
    }
    return sink.toByteArray();
  }

  /**
   * Inflates {@code src}'s remaining bytes (borrowed), refusing to produce more than {@code
   * maxBytes}: reading stops as soon as the limit is passed, so a compression bomb is never
   * inflated in full.
   *
   * @throws SwitchboardException {@link ErrorCode#LOG_DECOMPRESSION_LIMIT} past the limit, {@link
   *     ErrorCode#LOG_INVALID_BATCH} when the compressed data is malformed
   */
  public ByteBuffer decompress(ByteBuffer src, int maxBytes) {
    if (this == NONE) {
      if (src.remaining() > maxBytes) {
        throw SwitchboardException.of(ErrorCode.LOG_DECOMPRESSION_LIMIT, maxBytes);
      }
      return src.slice();
    }
    byte[] input;
    int offset;
    if (src.hasArray()) {
      input = src.array();
      offset = src.arrayOffset() + src.position();
    } else {
      input = new byte[src.remaining()];
      src.duplicate().get(input);
      offset = 0;
    }
    byte[] out = new byte[Math.min(maxBytes + 1, Math.max(CHUNK_BYTES, src.remaining() * 4))];
    int size = 0;
    try (InputStream in = unwrap(new ByteArrayInputStream(input, offset, src.remaining()))) {
      while (true) {
        if (size == out.length) {
          if (size > maxBytes) {
            throw SwitchboardException.of(ErrorCode.LOG_DECOMPRESSION_LIMIT, maxBytes);
          }
          out = Arrays.copyOf(out, (int) Math.min((long) maxBytes + 1, (long) size * 2));
        }
        int n = in.read(out, size, out.length - size);
        if (n < 0) {
          break;
        }
        size += n;
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof SwitchboardException se) {
        throw se;
      }
      throw SwitchboardException.wrap(
          e, ErrorCode.LOG_INVALID_BATCH, this + " data does not decompress: " + e.getMessage());
    }
    if (size > maxBytes) {
      throw SwitchboardException.of(ErrorCode.LOG_DECOMPRESSION_LIMIT, maxBytes);
    }
    return ByteBuffer.wrap(out, 0, size).slice();
  }

  private OutputStream wrap(OutputStream sink) throws IOException {
    return switch (this) {
      case GZIP -> new GZIPOutputStream(sink, CHUNK_BYTES);
      case SNAPPY -> new SnappyOutputStream(sink);
      case LZ4 ->
          new LZ4FrameOutputStream(
              sink,
              LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB,
              LZ4FrameOutputStream.FLG.Bits.BLOCK_INDEPENDENCE);
      case ZSTD -> new ZstdOutputStreamNoFinalizer(sink);
      case NONE -> sink;
    };
  }

  private InputStream unwrap(InputStream source) throws IOException {
    return switch (this) {
      case GZIP -> new GZIPInputStream(source, CHUNK_BYTES);
      case SNAPPY -> new SnappyInputStream(source);
      case LZ4 -> new LZ4FrameInputStream(source);
      case ZSTD -> new ZstdInputStreamNoFinalizer(source);
      case NONE -> source;
    };
  }
}
