package io.switchboard.protocol.codec;

import static io.switchboard.protocol.FrameDescriptor.FLAGS_OFFSET;
import static io.switchboard.protocol.FrameDescriptor.HEADER_BYTES;
import static io.switchboard.protocol.FrameDescriptor.LENGTH_OFFSET;
import static io.switchboard.protocol.FrameDescriptor.TYPE_OFFSET;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.FrameType;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.frame.Frame;

/**
 * Encodes and decodes whole frames outside a pipeline: for tests, tools, fuzzing, and callers that
 * assemble their own writes. Stateless, thread-safe. Inside Netty use {@link NativeFrameDecoder}
 * and {@link NativeFrameEncoder}, which are built on these methods.
 */
public final class FrameCodec {
  private FrameCodec() {}

  /**
   * Bytes {@code frame} takes on the wire, header included.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} when it cannot be encoded in
   *     one frame at all (over 2 GiB)
   */
  public static int encodedSize(Frame frame) {
    long size = HEADER_BYTES + FrameWriter.bodySize(frame);
    if (size > Integer.MAX_VALUE) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, frame.type() + " frame of " + size + " bytes");
    }
    return (int) size;
  }

  /**
   * Encodes {@code frame} into one buffer of exactly {@link #encodedSize} bytes from {@code alloc}.
   * The caller owns the returned buffer and must release it (writing it to a channel does). Nothing
   * is left allocated if encoding fails.
   */
  public static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
    int size = encodedSize(frame);
    ByteBuf out = alloc.ioBuffer(size, size);
    boolean done = false;
    try {
      write(out, frame, size - HEADER_BYTES);
      done = true;
      return out;
    } finally {
      if (!done) {
        out.release();
      }
    }
  }

  /**
   * Appends {@code frame} to {@code out}, which is borrowed: the caller keeps ownership. Lets a
   * client put many frames in one buffer and one write.
   */
  public static void encode(Frame frame, ByteBuf out) {
    int size = encodedSize(frame);
    out.ensureWritable(size);
    write(out, frame, size - HEADER_BYTES);
  }

  private static void write(ByteBuf out, Frame frame, int bodyLength) {
    int start = out.writerIndex();
    out.writeInt(bodyLength); // [P-2.1]
    out.writeByte(frame.type().code());
    out.writeByte(0); // [P-2.3] no flags in version 1
    FrameWriter.writeBody(out, frame);
    int written = out.writerIndex() - start - HEADER_BYTES;
    if (written != bodyLength) {
      throw new IllegalStateException(
          frame.type() + ": sized " + bodyLength + " bytes, wrote " + written);
    }
  }

  /**
   * Decodes exactly one frame that fills {@code in}'s readable bytes, whichever side sent it (no
   * handshake or direction rules: those belong to {@link NativeFrameDecoder}). {@code in} is
   * borrowed; the returned frame holds no reference to it.
   *
   * @throws SwitchboardException carrying the protocol error code ({@code MALFORMED_FRAME}, {@code
   *     FRAME_TOO_LARGE}, {@code UNKNOWN_FRAME_TYPE}, {@code RESERVED_BITS_SET}, {@code
   *     INVALID_FIELD}, {@code FIELD_TOO_LARGE} or {@code BAD_MAGIC})
   */
  public static Frame decode(ByteBuf in, ProtocolLimits limits) {
    if (in.readableBytes() < HEADER_BYTES) {
      throw SwitchboardException.of(
          ErrorCode.MALFORMED_FRAME, "?", "only " + in.readableBytes() + " bytes");
    }
    int at = in.readerIndex();
    FrameType type = checkType(in.getUnsignedByte(at + TYPE_OFFSET));
    long length = in.getUnsignedInt(at + LENGTH_OFFSET);
    checkHeader(type, in.getUnsignedByte(at + FLAGS_OFFSET), length, limits);
    if (length != in.readableBytes() - HEADER_BYTES) {
      throw SwitchboardException.of(
          ErrorCode.MALFORMED_FRAME,
          type,
          "body length " + length + " but " + (in.readableBytes() - HEADER_BYTES) + " bytes");
    }
    in.skipBytes(HEADER_BYTES);
    return new FrameReader(limits).read(type, in, (int) length);
  }

  /** [P-2.2] The frame type, or {@code UNKNOWN_FRAME_TYPE}. */
  static FrameType checkType(int code) {
    FrameType type = FrameType.byCode(code);
    if (type == null) {
      throw SwitchboardException.of(ErrorCode.UNKNOWN_FRAME_TYPE, Integer.toHexString(code));
    }
    return type;
  }

  /** [P-2.3] no flags; [P-2.5] the frame fits the limit. Checked before the body is buffered. */
  static void checkHeader(FrameType type, int flags, long bodyLength, ProtocolLimits limits) {
    if (flags != 0) {
      throw SwitchboardException.of(
          ErrorCode.RESERVED_BITS_SET, type, "flags", Integer.toHexString(flags));
    }
    if (bodyLength > limits.maxFrameBytes() - HEADER_BYTES) {
      throw SwitchboardException.of(
          ErrorCode.FRAME_TOO_LARGE, bodyLength + HEADER_BYTES, limits.maxFrameBytes());
    }
  }
}
