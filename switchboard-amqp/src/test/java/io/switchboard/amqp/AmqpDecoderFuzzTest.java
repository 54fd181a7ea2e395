package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * Jazzer target on the AMQP read path: the frame decoder (protocol header, framing, frame-max, end
 * octet) fed the bytes in pieces, then every method frame through the table-driven method reader
 * and every content header through its reader. Under plain {@code mvn test} it replays the seed
 * corpus in {@code AmqpDecoderFuzzTestInputs/}; with {@code JAZZER_FUZZ=1} it fuzzes.
 *
 * <p>Whatever the bytes: only frames, the protocol header, or an {@link AmqpException} with the
 * reply code the spec gives (501 frame error, 502 syntax error, 540 not implemented) come out,
 * nothing else is thrown, and every buffer is released.
 */
class AmqpDecoderFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void bytesDecodeToFramesOrAReplyCode(byte[] data) {
    // The first byte chooses the piece size, so splits across reads are fuzzed too.
    int piece = data.length == 0 ? 1 : 1 + (data[0] & 0x3f);
    EmbeddedChannel ch = new EmbeddedChannel(new AmqpFrameDecoder(4096));
    ByteBuf all = Unpooled.wrappedBuffer(data);
    all.skipBytes(Math.min(1, data.length));
    while (all.isReadable() && ch.isOpen()) {
      ch.writeInbound(all.readRetainedSlice(Math.min(piece, all.readableBytes())));
      drain(ch);
    }
    all.release();
    drain(ch);
    ch.finishAndReleaseAll();
    if (data.length > 0) {
      assertThat(all.refCnt()).isZero(); // (the empty buffer is never released)
    }
  }

  private static void drain(EmbeddedChannel ch) {
    Object o;
    while ((o = ch.readInbound()) != null) {
      switch (o) {
        case AmqpFrame f -> {
          try {
            if (f.type() == AmqpFrame.METHOD) {
              AmqpMethods.read(f.payload().duplicate());
            } else if (f.type() == AmqpFrame.HEADER) {
              ContentHeader.read(f.payload().duplicate());
            }
          } catch (AmqpException e) {
            assertThat(e.code()).isIn(501, 502, 540);
          } finally {
            f.release();
          }
        }
        case AmqpException e -> assertThat(e.code()).isIn(501, 502, 540);
        case ProtocolHeader h -> {}
        default -> throw new AssertionError("unexpected " + o);
      }
    }
  }
}
