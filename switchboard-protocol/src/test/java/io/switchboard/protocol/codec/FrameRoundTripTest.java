package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.switchboard.protocol.FrameType;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.testkit.netty.LeakCheck;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(LeakCheck.class)
class FrameRoundTripTest {

  static Stream<Frame> samples() {
    return SampleFrames.all().stream();
  }

  @ParameterizedTest
  @EnumSource(FrameType.class)
  void shouldHaveASampleOfEveryFrameType(FrameType type) {
    assertThat(SampleFrames.covers(type)).as("sample of " + type).isTrue();
  }

  @ParameterizedTest
  @MethodSource("samples")
  void shouldDecodeWhatItEncodesFieldByField(Frame frame) {
    ByteBuf buf = FrameCodec.encode(PooledByteBufAllocator.DEFAULT, frame);
    try {
      assertThat(buf.readableBytes()).isEqualTo(FrameCodec.encodedSize(frame));
      Frame decoded = FrameCodec.decode(buf, ProtocolLimits.DEFAULTS);
      Frames.assertSame(decoded, frame);
      assertThat(buf.isReadable()).isFalse();
    } finally {
      assertThat(buf.release()).isTrue();
    }
  }

  @ParameterizedTest
  @MethodSource("samples")
  void shouldReencodeDecodedBytesIdentically(Frame frame) {
    byte[] wire = Frames.bytes(frame);
    ByteBuf in = Unpooled.wrappedBuffer(wire);
    try {
      assertThat(Frames.bytes(FrameCodec.decode(in, ProtocolLimits.DEFAULTS))).isEqualTo(wire);
    } finally {
      in.release();
    }
  }

  @Test
  void shouldAppendFramesToABorrowedBuffer() {
    ByteBuf out = Unpooled.buffer(4);
    try {
      for (Frame f : SampleFrames.all()) {
        FrameCodec.encode(f, out);
      }
      for (Frame f : SampleFrames.all()) {
        int size = FrameCodec.encodedSize(f);
        ByteBuf one = out.readSlice(size);
        Frames.assertSame(FrameCodec.decode(one, ProtocolLimits.DEFAULTS), f);
      }
      assertThat(out.isReadable()).isFalse();
    } finally {
      out.release();
    }
  }
}
