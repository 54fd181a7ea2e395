package io.switchboard.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.switchboard.spi.ProtocolMeters;
import java.util.List;

/**
 * Checks the first packet's declared lengths before Netty's {@code MqttDecoder} sees it, then steps
 * out of the pipeline. Confined to one connection; never sharable.
 *
 * <p>Netty's decoder is a replaying decoder: a CONNECT whose property length (or a string's length)
 * runs past the packet's remaining length is read on into bytes that never come, and the connection
 * would sit there until the CONNECT timeout. Here the CONNECT is read whole first (its remaining
 * length is bounded by the decoder's packet limit, which is left to refuse larger ones), and every
 * length inside it must end within it (MQTT 5 §1.5.4 strings, §1.5.6 binary data, §2.2.2
 * properties). One that does not is a malformed packet (§4.13.1): a v5 client gets CONNACK 0x81
 * <i>Malformed Packet</i> (§3.2.2.2), a 3.1.1 client a plain close, and either is counted as bad
 * input ({@code malformed_packet}).
 *
 * <pre>
 * CONNECT: 0x10 | remaining length (varint)
 *   protocol name (u16 length + bytes) | version (u8) | flags (u8) | keep alive (u16)
 *   [v5] properties (varint length + bytes)
 *   client id (u16 + bytes)
 *   [will flag 0x04] [v5] will properties (varint + bytes) | will topic (u16 + bytes)
 *                    | will payload (u16 + bytes)
 *   [user name flag 0x80] user name (u16 + bytes)
 *   [password flag 0x40]  password (u16 + bytes)
 * </pre>
 */
final class MqttConnectGuard extends ByteToMessageDecoder {
  private static final int CONNECT = 0x10;
  private static final int FLAG_WILL = 0x04;
  private static final int FLAG_PASSWORD = 0x40;
  private static final int FLAG_USER_NAME = 0x80;
  private static final int VERSION_5 = 5;

  /** CONNACK, MQTT 5: no session present, reason 0x81 Malformed Packet, no properties. */
  private static final byte[] CONNACK_V5_MALFORMED = {0x20, 0x03, 0x00, (byte) 0x81, 0x00};

  private final int maxPacketBytes;
  private final ProtocolMeters meters;
  private boolean refused;

  MqttConnectGuard(int maxPacketBytes, ProtocolMeters meters) {
    this.maxPacketBytes = maxPacketBytes;
    this.meters = meters;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (refused) {
      in.skipBytes(in.readableBytes()); // refused: whatever follows is discarded
      return;
    }
    int start = in.readerIndex();
    if (!in.isReadable()) {
      return;
    }
    if ((in.getUnsignedByte(start) & 0xFF) != CONNECT) {
      stepAside(ctx); // not a CONNECT: the connection handler refuses it
      return;
    }
    long remaining = 0;
    int at = start + 1;
    for (int shift = 0; ; shift += 7) {
      if (at >= in.writerIndex()) {
        return; // the remaining length is not all here yet
      }
      int b = in.getUnsignedByte(at++);
      remaining |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
      if (shift == 21) {
        stepAside(ctx); // a fifth length byte: the decoder reports the malformed length
        return;
      }
    }
    if (remaining > maxPacketBytes) {
      stepAside(ctx); // the decoder refuses it from its declared length, before buffering it
      return;
    }
    if (in.writerIndex() - at < remaining) {
      return; // wait for the whole CONNECT
    }
    Verdict v = check(in, at, at + (int) remaining);
    if (v == Verdict.FITS) {
      stepAside(ctx);
      return;
    }
    refused = true;
    in.skipBytes(in.readableBytes());
    meters.badInput("malformed_packet");
    if (v == Verdict.OVERRUN_V5) {
      ctx.writeAndFlush(Unpooled.wrappedBuffer(CONNACK_V5_MALFORMED))
          .addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }

  private enum Verdict {
    FITS,
    OVERRUN_V5,
    OVERRUN_V3
  }

  /** Walks the CONNECT body in {@code [from, end)}: does every declared length end inside it? */
  private static Verdict check(ByteBuf in, int from, int end) {
    int[] at = {from};
    boolean v5 = false;
    try {
      skipString(in, at, end); // protocol name
      int version = byteAt(in, at, end);
      v5 = version == VERSION_5;
      int flags = byteAt(in, at, end);
      at[0] += 2; // keep alive
      if (at[0] > end) {
        return overrun(v5);
      }
      if (v5) {
        skipProperties(in, at, end);
      }
      skipString(in, at, end); // client id
      if ((flags & FLAG_WILL) != 0) {
        if (v5) {
          skipProperties(in, at, end);
        }
        skipString(in, at, end); // will topic
        skipString(in, at, end); // will payload
      }
      if ((flags & FLAG_USER_NAME) != 0) {
        skipString(in, at, end);
      }
      if ((flags & FLAG_PASSWORD) != 0) {
        skipString(in, at, end);
      }
      return Verdict.FITS;
    } catch (IndexOutOfBoundsException e) {
      return overrun(v5);
    }
  }

  private static Verdict overrun(boolean v5) {
    return v5 ? Verdict.OVERRUN_V5 : Verdict.OVERRUN_V3;
  }

  private static int byteAt(ByteBuf in, int[] at, int end) {
    if (at[0] >= end) {
      throw new IndexOutOfBoundsException();
    }
    return in.getUnsignedByte(at[0]++);
  }

  /** A two-byte length and that many bytes (§1.5.4, §1.5.6). */
  private static void skipString(ByteBuf in, int[] at, int end) {
    int len = (byteAt(in, at, end) << 8) | byteAt(in, at, end);
    at[0] += len;
    if (at[0] > end) {
      throw new IndexOutOfBoundsException();
    }
  }

  /** A variable-byte-integer length and that many bytes of properties (§2.2.2). */
  private static void skipProperties(ByteBuf in, int[] at, int end) {
    long len = 0;
    for (int shift = 0; ; shift += 7) {
      int b = byteAt(in, at, end);
      len |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
      if (shift == 21) {
        throw new IndexOutOfBoundsException();
      }
    }
    if (at[0] + len > end) {
      throw new IndexOutOfBoundsException();
    }
    at[0] += (int) len;
  }

  /** Leaves the pipeline; the bytes buffered so far go on to the decoder. */
  private void stepAside(ChannelHandlerContext ctx) {
    ctx.pipeline().remove(this);
  }
}
