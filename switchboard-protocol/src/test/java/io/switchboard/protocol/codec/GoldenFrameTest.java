package io.switchboard.protocol.codec;

import static io.switchboard.protocol.codec.SampleFrames.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.switchboard.core.Header;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.frame.AckEntry;
import io.switchboard.protocol.frame.Acked;
import io.switchboard.protocol.frame.Acks;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.Credit;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.DeliveryPush;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Fetch;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Goodbye;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.Messages;
import io.switchboard.protocol.frame.Ping;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.PubAckBatch;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.protocol.frame.PublishBatch;
import io.switchboard.protocol.frame.Read;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.protocol.frame.Request;
import io.switchboard.protocol.frame.StoredEntry;
import io.switchboard.protocol.frame.Subscribe;
import io.switchboard.protocol.frame.Welcome;
import io.switchboard.testkit.netty.LeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The hand-derived fixtures of {@code golden/native/} decode to these records and back. */
@ExtendWith(LeakCheck.class)
class GoldenFrameTest {

  static final Map<String, Frame> EXPECTED = new LinkedHashMap<>();

  static {
    byte[] empty = new byte[0];
    EXPECTED.put("hello", new Hello(1, 1, 7, "cli", utf8("tk")));
    EXPECTED.put("welcome", new Welcome(1, 7, "sb", 8 << 20, 4096, 64L << 20, 30_000));
    EXPECTED.put("ping", new Ping(1));
    EXPECTED.put("goodbye", new Goodbye(3025, "bye"));
    EXPECTED.put("error", new ErrorFrame(9, false, 2000, "no"));
    EXPECTED.put("publish-minimal", Publish.of(1, "a.b", utf8("hi")));
    EXPECTED.put(
        "publish-full",
        new Publish(
            2,
            true,
            "o.1",
            "r",
            List.of(new Header("h", utf8("v")), new Header("n", null)),
            utf8("k"),
            utf8("p"),
            "S",
            "m",
            5,
            new Publish.Producer(7, (short) 1, 3),
            1000));
    EXPECTED.put("publish-unicode", Publish.of(5, "ü", empty));
    EXPECTED.put(
        "publish-batch",
        new PublishBatch(List.of(Publish.of(3, "a", empty), Publish.of(4, "b", empty))));
    EXPECTED.put("pub-ack", new PubAck(2, "S", 0, 5, PubAck.Durability.FSYNCED, true));
    EXPECTED.put(
        "pub-ack-batch",
        new PubAckBatch(List.of(new PubAck(3, null, -1, -1, PubAck.Durability.MEMORY, false))));
    EXPECTED.put("subscribe", new Subscribe(5, 1, "a.*", "g"));
    EXPECTED.put("message", new LiveMessage(1, 1000, "a.b", null, List.of(), null, utf8("x")));
    EXPECTED.put("request", new Request(6, 500, "svc", List.of(), utf8("q")));
    EXPECTED.put("reply", new Reply(6, List.of(), utf8("r")));
    EXPECTED.put("fetch", new Fetch(8, 10, 100, "S", "c", null));
    EXPECTED.put("credit", new Credit(3, 10));
    EXPECTED.put(
        "delivery",
        new DeliveryPush(
            3, new DeliveryEntry(0, 7, 1, 1000, "a", null, List.of(), null, utf8("z"))));
    EXPECTED.put(
        "acks",
        new Acks(
            11, true, "S", "c", List.of(AckEntry.ack(0, 5, 1), AckEntry.nack(1, 6, 2, 1000, "e"))));
    EXPECTED.put("acked", new Acked(11, List.of(true, false)));
    EXPECTED.put("read", new Read(13, 1, 100, 65536, 10, "S"));
    EXPECTED.put(
        "messages",
        new Messages(
            13,
            2,
            List.of(new StoredEntry(0, 1, 1000, "a", null, List.of(), utf8("k"), utf8("v")))));
    EXPECTED.put("admin", new Admin(16, Admin.Op.STREAM_INFO, utf8("{}")));
  }

  static Stream<Arguments> fixtures() {
    return EXPECTED.entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void shouldDecodeTheFixtureAndReencodeItByteForByte(String name, Frame expected)
      throws IOException {
    byte[] golden = load(name);
    ByteBuf in = Unpooled.wrappedBuffer(golden);
    try {
      Frames.assertSame(FrameCodec.decode(in, ProtocolLimits.DEFAULTS), expected);
    } finally {
      in.release();
    }
    assertThat(Frames.bytes(expected)).isEqualTo(golden);
  }

  /** Parses a {@code .hex} fixture: whitespace-separated hex pairs, {@code #} comments. */
  static byte[] load(String name) throws IOException {
    String text;
    try (InputStream s =
        GoldenFrameTest.class.getResourceAsStream("/golden/native/" + name + ".hex")) {
      assertThat(s).as("fixture " + name).isNotNull();
      text = new String(s.readAllBytes(), StandardCharsets.US_ASCII);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String line : text.split("\n")) {
      int hash = line.indexOf('#');
      String data = hash >= 0 ? line.substring(0, hash) : line;
      for (String pair : data.trim().split("\\s+")) {
        if (!pair.isEmpty()) {
          out.write(Integer.parseInt(pair, 16));
        }
      }
    }
    return out.toByteArray();
  }
}
