package io.switchboard.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/**
 * {@link Outbound#pendingBytes} reads through the public writability API exactly what the outbound
 * buffer counts (the internal {@code unsafe()} count, used here only as the oracle), on both sides
 * of the water marks.
 */
class OutboundTest {

  @Test
  void pendingBytesMatchTheOutboundBufferOnBothSidesOfTheWaterMarks() {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1000, 2000));
    assertThat(Outbound.pendingBytes(ch)).isZero();
    boolean sawUnwritable = false;
    for (int i = 0; i < 40; i++) {
      ch.write(Unpooled.wrappedBuffer(new byte[37 + i]));
      assertThat(Outbound.pendingBytes(ch)).as("after write %d", i).isEqualTo(oracle(ch));
      sawUnwritable |= !ch.isWritable();
    }
    assertThat(sawUnwritable).isTrue();
    ch.flush();
    assertThat(ch.isWritable()).isTrue();
    assertThat(Outbound.pendingBytes(ch)).isZero().isEqualTo(oracle(ch));
    ch.finishAndReleaseAll();
    assertThat(Outbound.pendingBytes(ch)).isZero();
  }

  @Test
  void aLimitAboveTheHighWaterMarkIsStillMeasured() {
    EmbeddedChannel ch = new EmbeddedChannel(); // default marks: 32 KiB / 64 KiB
    for (int i = 0; i < 100; i++) {
      ch.write(Unpooled.wrappedBuffer(new byte[4096]));
    }
    assertThat(ch.isWritable()).isFalse();
    assertThat(Outbound.pendingBytes(ch)).isGreaterThan(400_000).isEqualTo(oracle(ch));
    ch.finishAndReleaseAll();
  }

  private static long oracle(EmbeddedChannel ch) {
    var buffer = ch.unsafe().outboundBuffer();
    return buffer == null ? 0 : buffer.totalPendingWriteBytes();
  }
}
