package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.frame.AckEntry;
import io.switchboard.protocol.frame.Acked;
import io.switchboard.protocol.frame.Acks;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Ok;
import io.switchboard.protocol.frame.Ping;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.protocol.frame.PublishBatch;
import io.switchboard.testkit.netty.LeakCheck;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Single-byte (and single-field) corruptions of valid frames, each answered with its exact error
 * code by the pipeline decoder, which then discards the rest of the connection's bytes.
 */
@ExtendWith(LeakCheck.class)
class FrameMutationTest {

  /**
   * {@code Publish.of(1, "a", [])}: body at 6 = options, 7 id, 11 subject, 14 reply, 16 headers, 18
   * key, 22 payload.
   */
  private static byte[] publish() {
    return Frames.bytes(Publish.of(1, "a", new byte[0]));
  }

  private static byte[] set(byte[] wire, int at, int... values) {
    byte[] w = wire.clone();
    for (int i = 0; i < values.length; i++) {
      w[at + i] = (byte) values[i];
    }
    return w;
  }

  @Test
  void shouldRejectFlagsInTheHeader() {
    assertServerRejects(set(publish(), 5, 0x01), ErrorCode.RESERVED_BITS_SET);
  }

  @Test
  void shouldRejectAnUnknownFrameType() {
    assertServerRejects(set(publish(), 4, 0x7F), ErrorCode.UNKNOWN_FRAME_TYPE);
    assertServerRejects(set(publish(), 4, 0x00), ErrorCode.UNKNOWN_FRAME_TYPE);
  }

  @Test
  void shouldRejectALengthOverTheLimitBeforeTheBodyArrives() {
    assertServerRejects(set(publish(), 0, 0x7F, 0xFF, 0xFF, 0xFF), ErrorCode.FRAME_TOO_LARGE);
    assertServerRejects(set(publish(), 0, 0xFF, 0xFF, 0xFF, 0xFF), ErrorCode.FRAME_TOO_LARGE);
    // The limit counts the header: a body of exactly max - 5 bytes is one byte too many.
    int max = ProtocolLimits.DEFAULTS.maxFrameBytes() - 5;
    assertServerRejects(
        set(publish(), 0, max >>> 24, (max >>> 16) & 0xFF, (max >>> 8) & 0xFF, max & 0xFF),
        ErrorCode.FRAME_TOO_LARGE);
  }

  @Test
  void shouldRejectALengthShorterThanTheFields() {
    byte[] w = publish();
    assertServerRejects(set(w, 3, w[3] - 1), ErrorCode.MALFORMED_FRAME);
  }

  @Test
  void shouldRejectBytesAfterTheLastField() {
    byte[] w = Arrays.copyOf(publish(), publish().length + 1);
    assertServerRejects(set(w, 3, w[3] + 1), ErrorCode.MALFORMED_FRAME);
  }

  @Test
  void shouldRejectReservedPublishOptions() {
    assertServerRejects(set(publish(), 6, 0x80), ErrorCode.RESERVED_BITS_SET);
    assertServerRejects(set(publish(), 6, 0x40), ErrorCode.RESERVED_BITS_SET);
  }

  @Test
  void shouldRejectRequestIdZero() {
    assertServerRejects(set(publish(), 7, 0, 0, 0, 0), ErrorCode.INVALID_FIELD);
  }

  @Test
  void shouldRejectASubjectOverTheLimit() {
    assertServerRejects(set(publish(), 11, 0x04, 0x01), ErrorCode.FIELD_TOO_LARGE);
  }

  @Test
  void shouldRejectInvalidUtf8() {
    assertServerRejects(set(publish(), 13, 0xFF), ErrorCode.MALFORMED_FRAME);
    assertServerRejects(set(publish(), 13, 0xC0), ErrorCode.MALFORMED_FRAME);
  }

  @Test
  void shouldRejectANegativeByteLength() {
    assertServerRejects(set(publish(), 18, 0xFF, 0xFF, 0xFF, 0xFE), ErrorCode.MALFORMED_FRAME);
  }

  @Test
  void shouldRejectAPayloadRunningPastTheFrame() {
    assertServerRejects(set(publish(), 25, 1), ErrorCode.MALFORMED_FRAME);
  }

  @Test
  void shouldRejectTooManyHeaders() {
    assertServerRejects(set(publish(), 16, 0xFF, 0xFF), ErrorCode.FIELD_TOO_LARGE);
  }

  @Test
  void shouldRejectAnEmptyBatch() {
    byte[] w = Frames.bytes(new PublishBatch(List.of(Publish.of(1, "a", new byte[0]))));
    assertServerRejects(set(w, 6, 0, 0), ErrorCode.INVALID_FIELD);
  }

  @Test
  void shouldRejectABadAckKind() {
    byte[] w = Frames.bytes(new Acks(12, false, "S", "c", List.of(AckEntry.ack(0, 0, 1))));
    assertServerRejects(set(w, 19, 4), ErrorCode.INVALID_FIELD);
    assertServerRejects(set(w, 19, 0), ErrorCode.INVALID_FIELD);
    assertServerRejects(set(w, 10, 0x02), ErrorCode.RESERVED_BITS_SET);
  }

  @Test
  void shouldRejectABadAdminOperation() {
    byte[] w = Frames.bytes(new Admin(17, Admin.Op.CONSUMER_LIST, new byte[0]));
    assertServerRejects(set(w, 10, 10), ErrorCode.INVALID_FIELD);
    assertServerRejects(set(w, 10, 0), ErrorCode.INVALID_FIELD);
  }

  @Test
  void shouldRejectReservedErrorOptions() {
    byte[] w = Frames.bytes(new ErrorFrame(0, true, 3000, "x"));
    assertServerRejects(set(w, 10, 0x03), ErrorCode.RESERVED_BITS_SET);
  }

  @Test
  void shouldRejectABadMagic() {
    byte[] w = Frames.bytes(SampleFrames.HELLO);
    assertRejects(Role.SERVER, null, set(w, 9, 0x45), ErrorCode.BAD_MAGIC);
  }

  @Test
  void shouldRejectAnEmptyVersionRange() {
    byte[] w = Frames.bytes(SampleFrames.HELLO);
    assertRejects(Role.SERVER, null, set(w, 10, 0, 2, 0, 1), ErrorCode.INVALID_FIELD);
    assertRejects(Role.SERVER, null, set(w, 10, 0, 0), ErrorCode.INVALID_FIELD);
  }

  @Test
  void shouldRequireHelloFirst() {
    assertRejects(Role.SERVER, null, Frames.bytes(new Ping(1)), ErrorCode.HANDSHAKE_REQUIRED);
    assertRejects(Role.SERVER, null, set(publish(), 4, 0x7F), ErrorCode.HANDSHAKE_REQUIRED);
  }

  @Test
  void shouldRequireWelcomeFirstOnTheClientSide() {
    byte[] ack = Frames.bytes(new PubAck(1, null, -1, -1, PubAck.Durability.MEMORY, false));
    assertRejects(Role.CLIENT, null, ack, ErrorCode.HANDSHAKE_REQUIRED);
    assertRejects(
        Role.CLIENT, null, Frames.bytes(SampleFrames.HELLO), ErrorCode.HANDSHAKE_REQUIRED);
  }

  @Test
  void shouldRejectASecondHandshake() {
    assertServerRejects(Frames.bytes(SampleFrames.HELLO), ErrorCode.UNEXPECTED_FRAME);
    assertRejects(
        Role.CLIENT,
        SampleFrames.WELCOME,
        Frames.bytes(SampleFrames.WELCOME),
        ErrorCode.UNEXPECTED_FRAME);
  }

  @Test
  void shouldRejectFramesOnlyTheReceiverMaySend() {
    assertServerRejects(Frames.bytes(new Ok(1)), ErrorCode.UNEXPECTED_FRAME);
    assertRejects(Role.CLIENT, SampleFrames.WELCOME, publish(), ErrorCode.UNEXPECTED_FRAME);
  }

  @Test
  void shouldRejectABadDurability() {
    byte[] w = Frames.bytes(new PubAck(1, null, -1, -1, PubAck.Durability.MEMORY, false));
    assertRejects(Role.CLIENT, SampleFrames.WELCOME, set(w, 11, 3), ErrorCode.INVALID_FIELD);
    assertRejects(Role.CLIENT, SampleFrames.WELCOME, set(w, 10, 0x80), ErrorCode.RESERVED_BITS_SET);
  }

  @Test
  void shouldRejectABadAckedValue() {
    byte[] w = Frames.bytes(new Acked(11, List.of(true, false)));
    assertRejects(Role.CLIENT, SampleFrames.WELCOME, set(w, 12, 2), ErrorCode.INVALID_FIELD);
  }

  @Test
  void shouldDiscardEverythingAfterAFailure() {
    byte[] bad = set(publish(), 5, 0x01);
    byte[] good = publish();
    EmbeddedChannel ch = serverAfterHello();
    ByteBuf first = Unpooled.wrappedBuffer(bad);
    ByteBuf second = Unpooled.wrappedBuffer(good, good);
    ch.writeInbound(first);
    ch.writeInbound(second);
    Object out = ch.readInbound();
    assertThat(out).isInstanceOf(FrameDecodeFailure.class);
    Object next = ch.readInbound();
    assertThat(next).isNull();
    assertThat(ch.finish()).isFalse();
    assertThat(first.refCnt()).isZero();
    assertThat(second.refCnt()).isZero();
  }

  /**
   * Every sample, every byte, four corruptions each: the whole-frame decoder either yields a frame
   * that re-encodes to exactly the corrupted bytes, or fails with a protocol code; nothing else (no
   * other exception, no silent change).
   */
  @Test
  void shouldEitherDecodeCanonicallyOrFailWithAProtocolCode() {
    int failures = 0;
    for (Frame f : SampleFrames.all()) {
      byte[] wire = Frames.bytes(f);
      for (int at = 0; at < wire.length; at++) {
        for (int v : new int[] {0x00, 0xFF, wire[at] ^ 0x01, wire[at] ^ 0x80}) {
          byte[] w = set(wire, at, v & 0xFF);
          ByteBuf in = Unpooled.wrappedBuffer(w);
          try {
            Frame decoded = FrameCodec.decode(in, ProtocolLimits.DEFAULTS);
            assertThat(Frames.bytes(decoded)).as(f.type() + " byte " + at).isEqualTo(w);
          } catch (SwitchboardException e) {
            failures++;
            assertThat(e.code().number()).as(e.getMessage()).isBetween(3000, 3099);
          } finally {
            in.release();
          }
        }
      }
    }
    assertThat(failures).isPositive();
  }

  // ---- helpers

  private static EmbeddedChannel serverAfterHello() {
    EmbeddedChannel ch =
        new EmbeddedChannel(new NativeFrameDecoder(Role.SERVER, ProtocolLimits.DEFAULTS));
    ch.writeInbound(Unpooled.wrappedBuffer(Frames.bytes(SampleFrames.HELLO)));
    Frames.assertSame(ch.readInbound(), SampleFrames.HELLO);
    return ch;
  }

  private static void assertServerRejects(byte[] wire, ErrorCode expected) {
    assertRejects(Role.SERVER, SampleFrames.HELLO, wire, expected);
  }

  /** Feeds {@code handshake} (if any) then {@code wire}; expects exactly one failure. */
  private static void assertRejects(Role role, Frame handshake, byte[] wire, ErrorCode expected) {
    NativeFrameDecoder decoder = new NativeFrameDecoder(role, ProtocolLimits.DEFAULTS);
    EmbeddedChannel ch = new EmbeddedChannel(decoder);
    List<ByteBuf> fed = new ArrayList<>();
    if (handshake != null) {
      fed.add(Unpooled.wrappedBuffer(Frames.bytes(handshake)));
    }
    fed.add(Unpooled.wrappedBuffer(wire));
    for (ByteBuf b : fed) {
      ch.writeInbound(b);
    }
    List<Object> out = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      out.add(o);
    }
    assertThat(ch.finish()).isFalse();
    Object last = out.isEmpty() ? null : out.get(out.size() - 1);
    if (!(last instanceof FrameDecodeFailure)) {
      fail("expected " + expected + " but got " + out);
    }
    FrameDecodeFailure failure = (FrameDecodeFailure) last;
    assertThat(failure.code()).as(failure.message()).isEqualTo(expected);
    assertThat(failure.toErrorFrame().fatal()).isTrue();
    assertThat(failure.toErrorFrame().requestId()).isZero();
    assertThat(out).hasSize(handshake == null ? 1 : 2);
    assertThat(decoder.state()).isEqualTo(NativeFrameDecoder.State.FAILED);
    for (ByteBuf b : fed) {
      assertThat(b.refCnt()).isZero();
    }
  }
}
