package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.frame.AuthChallenge;
import io.switchboard.protocol.frame.AuthResponse;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.Ping;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.testkit.netty.LeakCheck;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * [P-4.5] The decoder's part of a SCRAM handshake: after a HELLO that starts an exchange the server
 * takes exactly one AUTH_RESPONSE, held to the pre-authentication size limit; a client takes
 * AUTH_CHALLENGE frames before WELCOME and never after.
 */
@ExtendWith(LeakCheck.class)
class ScramHandshakeDecoderTest {
  static final Hello SCRAM_HELLO = new Hello(1, 1, 0, "t", utf8("SCRAM-SHA-256 n,,n=alice,r=abc"));

  @Test
  void aServerTakesOneAuthResponseAfterAScramHelloThenAnything() {
    List<Object> got =
        decode(
            Role.SERVER, SCRAM_HELLO, new AuthResponse(utf8("c=biws,r=abcdef,p=xyz")), new Ping(1));
    assertThat(got).hasSize(3);
    assertThat(got.get(1)).isInstanceOf(AuthResponse.class);
    assertThat(got.get(2)).isInstanceOf(Ping.class);
  }

  @Test
  void aServerRefusesAnyOtherFrameInPlaceOfTheAuthResponse() {
    List<Object> got = decode(Role.SERVER, SCRAM_HELLO, Publish.of(1, "a", utf8("x")));
    assertThat(got.get(1))
        .isInstanceOfSatisfying(
            FrameDecodeFailure.class,
            f -> {
              assertThat(f.code()).isEqualTo(ErrorCode.HANDSHAKE_REQUIRED);
              assertThat(f.message()).contains("AUTH_RESPONSE");
            });
  }

  @Test
  void anAuthResponseIsHeldToThePreAuthenticationLimit() {
    // the frame limit allows far more; before authentication 64 KiB is the most buffered
    byte[] big = new byte[NativeFrameDecoder.MAX_HANDSHAKE_FRAME_BYTES + 1];
    EmbeddedChannel ch =
        new EmbeddedChannel(
            new NativeFrameDecoder(
                Role.SERVER, ProtocolLimits.DEFAULTS.withMaxFrameBytes(8 << 20)));
    ch.writeInbound(Unpooled.wrappedBuffer(Frames.bytes(SCRAM_HELLO)));
    // only the header goes in: the decoder must refuse before the body arrives
    byte[] header = new byte[FrameDescriptor.HEADER_BYTES];
    int length = big.length + 4;
    header[0] = (byte) (length >>> 24);
    header[1] = (byte) (length >>> 16);
    header[2] = (byte) (length >>> 8);
    header[3] = (byte) length;
    header[4] = 0x09;
    ch.writeInbound(Unpooled.wrappedBuffer(header));
    Object hello = ch.readInbound();
    Object refused = ch.readInbound();
    assertThat(hello).isInstanceOf(Hello.class);
    assertThat(refused)
        .isInstanceOfSatisfying(
            FrameDecodeFailure.class,
            f -> assertThat(f.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE));
    ch.finishAndReleaseAll();
  }

  @Test
  void anAuthResponseWithoutAScramHelloIsUnexpected() {
    List<Object> got =
        decode(Role.SERVER, new Hello(1, 1, 0, "t", null), new AuthResponse(utf8("x")));
    assertThat(got.get(1))
        .isInstanceOfSatisfying(
            FrameDecodeFailure.class,
            f -> assertThat(f.code()).isEqualTo(ErrorCode.UNEXPECTED_FRAME));
  }

  @Test
  void aClientTakesChallengesBeforeWelcomeButNotAfter() {
    List<Object> got =
        decode(
            Role.CLIENT,
            new AuthChallenge(utf8("r=abcdef,s=c2FsdA==,i=4096")),
            new AuthChallenge(utf8("v=c2ln")),
            SampleFrames.WELCOME,
            new AuthChallenge(utf8("late")));
    assertThat(got.subList(0, 3))
        .extracting(o -> o.getClass().getSimpleName())
        .containsExactly("AuthChallenge", "AuthChallenge", "Welcome");
    assertThat(got.get(3))
        .isInstanceOfSatisfying(
            FrameDecodeFailure.class,
            f -> assertThat(f.code()).isEqualTo(ErrorCode.UNEXPECTED_FRAME));
  }

  @Test
  void onlyAScramCredentialStartsAnExchange() {
    assertThat(NativeFrameDecoder.startsExchange(utf8("SCRAM-SHA-512 n,,n=a,r=b"))).isTrue();
    assertThat(NativeFrameDecoder.startsExchange(utf8("PLAIN \0a\0b"))).isFalse();
    assertThat(NativeFrameDecoder.startsExchange(utf8("SCRAM"))).isFalse();
    assertThat(NativeFrameDecoder.startsExchange(null)).isFalse();
  }

  private static List<Object> decode(Role role, Frame... frames) {
    EmbeddedChannel ch = new EmbeddedChannel(new NativeFrameDecoder(role, ProtocolLimits.DEFAULTS));
    ch.writeInbound(Unpooled.wrappedBuffer(Frames.concat(List.of(frames))));
    List<Object> got = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      got.add(o);
    }
    ch.finishAndReleaseAll();
    return got;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
