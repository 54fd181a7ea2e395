package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.testkit.netty.LeakCheck;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Jazzer target on the decoders. Under plain {@code mvn test} it replays the seed corpus in {@code
 * NativeFrameFuzzTestInputs/} (golden frames, as binary) as a regression test; with {@code
 * JAZZER_FUZZ=1} it fuzzes for at most {@code maxDuration}.
 *
 * <p>Whatever the bytes, a decoder yields frames that re-encode to exactly the bytes they came
 * from, or one failure with a protocol code; it never throws anything else, and releases its input.
 */
@ExtendWith(LeakCheck.class)
class NativeFrameFuzzTest {

  /** Small limits, so the fuzzer reaches every "over the limit" branch with short inputs. */
  private static final ProtocolLimits LIMITS = new ProtocolLimits(4096, 64, 128, 4, 256, 8);

  @FuzzTest(maxDuration = "30s")
  void decodersYieldCanonicalFramesOrAProtocolError(byte[] data) {
    wholeFrame(data);
    pipeline(Role.SERVER, data, null);
    pipeline(Role.CLIENT, data, null);
    pipeline(Role.SERVER, data, Frames.bytes(SampleFrames.HELLO));
    pipeline(Role.CLIENT, data, Frames.bytes(SampleFrames.WELCOME));
  }

  private static void wholeFrame(byte[] data) {
    ByteBuf in = Unpooled.wrappedBuffer(data);
    try {
      Frame f = FrameCodec.decode(in, LIMITS);
      assertThat(Frames.bytes(f)).isEqualTo(data);
    } catch (SwitchboardException e) {
      assertThat(e.code().number()).isBetween(3000, 3099);
    } finally {
      in.release();
    }
  }

  private static void pipeline(Role role, byte[] data, byte[] handshake) {
    EmbeddedChannel ch = new EmbeddedChannel(new NativeFrameDecoder(role, LIMITS));
    ByteBuf first = handshake == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(handshake);
    ByteBuf in = Unpooled.wrappedBuffer(data);
    if (handshake != null) {
      ch.writeInbound(first);
    }
    ch.writeInbound(in);
    boolean failed = false;
    for (Object o; (o = ch.readInbound()) != null; ) {
      assertThat(failed).as("nothing after a failure").isFalse();
      if (o instanceof FrameDecodeFailure) {
        failed = true;
        assertThat(((FrameDecodeFailure) o).code().number()).isBetween(3000, 3099);
      } else {
        Frame f = (Frame) o;
        assertThat(f.type().receivableBy(role)).isTrue();
        Frames.bytes(f); // every decoded frame encodes
      }
    }
    ch.finishAndReleaseAll();
    if (data.length > 0) { // an empty input wraps to the shared, never-released EMPTY_BUFFER
      assertThat(in.refCnt()).isZero();
    }
    if (handshake != null) {
      assertThat(first.refCnt()).isZero();
    }
  }
}
