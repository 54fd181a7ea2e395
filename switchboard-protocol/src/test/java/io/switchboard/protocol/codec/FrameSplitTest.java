package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.testkit.netty.LeakCheck;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Feeds a whole conversation through the pipeline decoder cut at every split point and in chunks of
 * every size: the same frames come out, nothing is left over, and every input buffer is released.
 */
@ExtendWith(LeakCheck.class)
class FrameSplitTest {

  @ParameterizedTest
  @EnumSource(Role.class)
  void shouldDecodeTheSameFramesWhereverTheStreamIsCut(Role role) {
    List<Frame> expected = SampleFrames.receivedBy(role);
    byte[] wire = Frames.concat(expected);
    for (int cut = 1; cut < wire.length; cut++) {
      List<ByteBuf> fed = new ArrayList<>();
      fed.add(copy(wire, 0, cut));
      fed.add(copy(wire, cut, wire.length - cut));
      assertDecodes(role, fed, expected);
    }
  }

  @ParameterizedTest
  @EnumSource(Role.class)
  void shouldDecodeTheSameFramesFromChunksOfEverySize(Role role) {
    List<Frame> expected = SampleFrames.receivedBy(role);
    byte[] wire = Frames.concat(expected);
    for (int chunk = 1; chunk <= wire.length; chunk++) {
      List<ByteBuf> fed = new ArrayList<>();
      for (int at = 0; at < wire.length; at += chunk) {
        fed.add(copy(wire, at, Math.min(chunk, wire.length - at)));
      }
      assertDecodes(role, fed, expected);
    }
  }

  private static void assertDecodes(Role role, List<ByteBuf> fed, List<Frame> expected) {
    NativeFrameDecoder decoder = new NativeFrameDecoder(role, ProtocolLimits.DEFAULTS);
    EmbeddedChannel ch = new EmbeddedChannel(decoder);
    for (ByteBuf b : fed) {
      ch.writeInbound(b);
    }
    List<Object> got = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      got.add(o);
    }
    assertThat(ch.finish()).isFalse(); // nothing left inbound or outbound
    assertThat(got).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      Frames.assertSame(got.get(i), expected.get(i));
    }
    assertThat(decoder.state()).isEqualTo(NativeFrameDecoder.State.READY);
    for (ByteBuf b : fed) {
      assertThat(b.refCnt()).as("input buffer released").isZero();
    }
  }

  private static ByteBuf copy(byte[] wire, int from, int length) {
    return Unpooled.copiedBuffer(wire, from, length);
  }
}
