package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes {@link AmqpFrame}s: type, channel, size, payload, end octet. */
final class AmqpFrameEncoder extends MessageToByteEncoder<AmqpFrame> {
  @Override
  protected void encode(ChannelHandlerContext ctx, AmqpFrame frame, ByteBuf out) {
    encodeTo(frame, out);
  }

  static void encodeTo(AmqpFrame frame, ByteBuf out) {
    out.writeByte(frame.type());
    out.writeShort(frame.channel());
    out.writeInt(frame.payload().readableBytes());
    out.writeBytes(frame.payload(), frame.payload().readerIndex(), frame.payload().readableBytes());
    out.writeByte(AmqpFrame.FRAME_END);
  }
}
