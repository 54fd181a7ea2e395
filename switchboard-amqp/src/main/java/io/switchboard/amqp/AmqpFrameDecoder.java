package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the byte stream into the protocol header and then {@link AmqpFrame}s. A frame larger than
 * the negotiated frame-max, an unknown frame type or a missing end octet is a {@link
 * AmqpException#FRAME_ERROR}: the decoder emits the {@link AmqpException} as a message (the
 * connection answers it with connection.close) and reads nothing more.
 */
final class AmqpFrameDecoder extends ByteToMessageDecoder {
  private boolean headerRead;
  private boolean failed;
  private volatile int frameMax;

  /**
   * @param frameMax the largest frame accepted before tune-ok (the server's offer) and after it the
   *     negotiated value, counting header and end octet
   */
  AmqpFrameDecoder(int frameMax) {
    this.frameMax = frameMax;
  }

  /** The negotiated frame-max (tune-ok). */
  void frameMax(int value) {
    frameMax = value;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (!headerRead) {
      if (in.readableBytes() < 8) {
        // A client speaking something else may send fewer bytes and wait: judge the first four.
        if (in.readableBytes() >= 4 && in.getInt(in.readerIndex()) != 0x414d5150) {
          byte[] b = new byte[in.readableBytes()];
          in.readBytes(b);
          failed = true;
          out.add(new ProtocolHeader(b));
        }
        return;
      }
      byte[] b = new byte[8];
      in.readBytes(b);
      headerRead = true;
      ProtocolHeader header = new ProtocolHeader(b);
      if (!header.supported()) {
        failed = true;
      }
      out.add(header);
      return;
    }
    while (in.readableBytes() >= 7) {
      int start = in.readerIndex();
      int type = in.getUnsignedByte(start);
      int channel = in.getUnsignedShort(start + 1);
      long size = in.getUnsignedInt(start + 3);
      if (type != AmqpFrame.METHOD
          && type != AmqpFrame.HEADER
          && type != AmqpFrame.BODY
          && type != AmqpFrame.HEARTBEAT) {
        fail(in, out, "unknown frame type " + type);
        return;
      }
      if (size + AmqpFrame.OVERHEAD > frameMax) {
        fail(
            in,
            out,
            "frame of " + (size + AmqpFrame.OVERHEAD) + " bytes exceeds frame-max " + frameMax);
        return;
      }
      if (in.readableBytes() < size + AmqpFrame.OVERHEAD) {
        return;
      }
      int end = in.getUnsignedByte(start + 7 + (int) size);
      if (end != AmqpFrame.FRAME_END) {
        fail(in, out, "frame end octet is 0x" + Integer.toHexString(end) + ", expected 0xce");
        return;
      }
      ByteBuf payload = in.retainedSlice(start + 7, (int) size);
      in.readerIndex(start + 7 + (int) size + 1);
      out.add(new AmqpFrame(type, channel, payload));
    }
  }

  private void fail(ByteBuf in, List<Object> out, String problem) {
    failed = true;
    in.skipBytes(in.readableBytes());
    out.add(AmqpException.connection(AmqpException.FRAME_ERROR, problem));
  }
}
