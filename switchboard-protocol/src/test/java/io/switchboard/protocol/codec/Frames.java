package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.switchboard.protocol.frame.Frame;
import java.util.List;

/** Test helpers: encode to arrays, compare frames field by field. */
final class Frames {
  private Frames() {}

  /** Encodes through the codec and copies the bytes out, releasing the buffer. */
  static byte[] bytes(Frame f) {
    ByteBuf buf = FrameCodec.encode(UnpooledByteBufAllocator.DEFAULT, f);
    try {
      assertThat(buf.readableBytes()).isEqualTo(FrameCodec.encodedSize(f));
      return ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
  }

  static byte[] concat(List<Frame> frames) {
    ByteBuf all = Unpooled.buffer();
    try {
      for (Frame f : frames) {
        FrameCodec.encode(f, all);
      }
      return ByteBufUtil.getBytes(all);
    } finally {
      all.release();
    }
  }

  /** Every field equal, arrays by content. */
  static void assertSame(Object actual, Object expected) {
    assertThat(actual).usingRecursiveComparison().isEqualTo(expected);
    assertThat(actual).hasSameClassAs(expected);
  }
}
