package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.impl.AMQContentHeader;
import com.rabbitmq.client.impl.AMQImpl;
import com.rabbitmq.client.impl.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The frame codec and the table-driven method codec: every method round-tripped through RabbitMQ's
 * own generated codec ({@code AMQImpl}), golden bytes, feeds split at every byte, and bad input
 * answered with the spec's reply codes.
 */
class AmqpCodecTest {

  static Map<String, Object> sampleTable() {
    Map<String, Object> nested = new LinkedHashMap<>();
    nested.put("n", 7);
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("str", "hello");
    t.put("int", 42);
    t.put("long", 1L << 40);
    t.put("bool", true);
    t.put("bytes", new byte[] {1, 2, 3});
    t.put("byte", (byte) -3);
    t.put("short", (short) 300);
    t.put("float", 1.5f);
    t.put("double", 2.25d);
    t.put("decimal", new BigDecimal("12.34"));
    t.put("time", new Date(1_700_000_000_000L));
    t.put("table", nested);
    t.put("array", List.of("a", 1, true));
    return t;
  }

  /** Sample arguments for a method's types. */
  static Object[] sampleArgs(AmqpMethods.Def def) {
    Object[] a = new Object[def.args().length()];
    for (int i = 0; i < a.length; i++) {
      a[i] =
          switch (def.args().charAt(i)) {
            case 'o' -> 9 + i;
            case 's' -> 1000 + i;
            case 'l' -> 70_000L + i;
            case 'L', 't' -> (1L << 33) + i;
            case 'n' -> "short-" + i;
            case 'S' -> ("long-" + i).getBytes(StandardCharsets.UTF_8);
            case 'b' -> i % 2 == 0;
            case 'T' -> Map.of("k", "v"); // one entry: RabbitMQ's reader does not keep order
            default -> throw new IllegalStateException();
          };
    }
    return a;
  }

  static byte[] encode(AmqpMethod m) {
    ByteBuf b = Unpooled.buffer();
    AmqpMethods.write(m, b);
    return ByteBufUtil.getBytes(b);
  }

  /** Normalizes what RabbitMQ's reader gives back (LongString, Date) to ours for comparison. */
  static Object normalize(Object v) {
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put((String) k, normalize(x)));
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(x -> out.add(normalize(x)));
      return out;
    }
    if (v instanceof com.rabbitmq.client.LongString s) {
      return s.toString();
    }
    return v;
  }

  @Test
  void everyMethodRoundTripsThroughRabbitMqsCodec() throws Exception {
    assertThat(AmqpMethods.ALL).hasSize(66);
    for (AmqpMethods.Def def : AmqpMethods.ALL) {
      AmqpMethod ours = new AmqpMethod(def, sampleArgs(def));
      byte[] bytes = encode(ours);
      com.rabbitmq.client.impl.Method theirs =
          AMQImpl.readMethodFrom(new DataInputStream(new ByteArrayInputStream(bytes)));
      assertThat(theirs.protocolClassId()).as(def.name()).isEqualTo(def.classId());
      assertThat(theirs.protocolMethodId()).as(def.name()).isEqualTo(def.methodId());
      Frame frame = theirs.toFrame(1);
      assertThat(frame.getPayload()).as(def.name() + " re-encoded by AMQImpl").isEqualTo(bytes);
      AmqpMethod back = AmqpMethods.read(Unpooled.wrappedBuffer(frame.getPayload()));
      assertThat(back).as(def.name()).isEqualTo(ours);
    }
  }

  /** Every field type of a table we write reads back the same through RabbitMQ's reader. */
  @Test
  void tablesReadByRabbitMq() throws Exception {
    Map<String, Object> table = sampleTable();
    byte[] bytes = encode(AmqpMethod.of("connection.start", 0, 9, table, new byte[0], new byte[0]));
    AMQImpl.Connection.Start start =
        (AMQImpl.Connection.Start)
            AMQImpl.readMethodFrom(new DataInputStream(new ByteArrayInputStream(bytes)));
    Map<String, Object> theirs = new LinkedHashMap<>();
    start.getServerProperties().forEach((k, v) -> theirs.put(k, normalize(v)));
    assertThat((byte[]) theirs.remove("bytes")).containsExactly(1, 2, 3);
    table.remove("bytes");
    assertThat(theirs).isEqualTo(table);
    // and what RabbitMQ writes, we read
    Frame f = start.toFrame(0);
    AmqpMethod back = AmqpMethods.read(Unpooled.wrappedBuffer(f.getPayload()));
    Map<String, Object> ours = back.table(2);
    assertThat((byte[]) ours.remove("bytes")).containsExactly(1, 2, 3);
    assertThat(ours).isEqualTo(table);
  }

  @Test
  void methodsWrittenByRabbitMqDecode() throws Exception {
    Map<String, Object> args = Map.of("x-message-ttl", 1000);
    Frame f = new AMQImpl.Queue.Declare(0, "q1", false, true, false, true, false, args).toFrame(3);
    AmqpMethod m = AmqpMethods.read(Unpooled.wrappedBuffer(f.getPayload()));
    assertThat(m.name()).isEqualTo("queue.declare");
    assertThat(m.str(1)).isEqualTo("q1");
    assertThat(new boolean[] {m.bit(2), m.bit(3), m.bit(4), m.bit(5), m.bit(6)})
        .containsExactly(false, true, false, true, false);
    assertThat(m.table(7)).containsEntry("x-message-ttl", 1000);
  }

  @Test
  void contentHeaderRoundTripsThroughRabbitMqsCodec() throws Exception {
    Object[] props = new Object[14];
    props[ContentHeader.CONTENT_TYPE] = "text/plain";
    props[ContentHeader.HEADERS] = Map.of("k", "v");
    props[ContentHeader.DELIVERY_MODE] = 2;
    props[ContentHeader.CORRELATION_ID] = "c-1";
    props[ContentHeader.TIMESTAMP] = 1_700_000_000L;
    props[ContentHeader.APP_ID] = "app";
    ContentHeader ours = ContentHeader.basic(12345, props);
    ByteBuf b = Unpooled.buffer();
    ours.write(b);
    byte[] bytes = ByteBufUtil.getBytes(b);
    AMQContentHeader theirs =
        AMQImpl.readContentHeaderFrom(new DataInputStream(new ByteArrayInputStream(bytes)));
    com.rabbitmq.client.AMQP.BasicProperties p = (com.rabbitmq.client.AMQP.BasicProperties) theirs;
    assertThat(p.getContentType()).isEqualTo("text/plain");
    assertThat(p.getDeliveryMode()).isEqualTo(2);
    assertThat(p.getCorrelationId()).isEqualTo("c-1");
    assertThat(p.getAppId()).isEqualTo("app");
    assertThat(p.getTimestamp()).isEqualTo(new Date(1_700_000_000_000L));
    assertThat(theirs.toFrame(1, 12345).getPayload()).isEqualTo(bytes);
    ContentHeader back = ContentHeader.read(Unpooled.wrappedBuffer(bytes));
    assertThat(back.bodySize()).isEqualTo(12345);
    assertThat(back.string(ContentHeader.CONTENT_TYPE)).isEqualTo("text/plain");
    assertThat(normalize(back.headers())).isEqualTo(Map.of("k", "v"));
    assertThat(back.properties()[ContentHeader.TIMESTAMP]).isEqualTo(1_700_000_000L);
  }

  @Test
  void heartbeatAndMethodFramesHaveTheSpecsBytes() {
    ByteBuf out = Unpooled.buffer();
    AmqpFrameEncoder.encodeTo(new AmqpFrame(AmqpFrame.HEARTBEAT, 0, Unpooled.EMPTY_BUFFER), out);
    assertThat(ByteBufUtil.hexDump(out)).isEqualTo("080000000000" + "00ce");
    ByteBuf payload = Unpooled.buffer();
    AmqpMethods.write(AmqpMethod.of("channel.open-ok", new byte[0]), payload);
    out.clear();
    AmqpFrameEncoder.encodeTo(new AmqpFrame(AmqpFrame.METHOD, 5, payload), out);
    // type 1, channel 5, size 8, class 20 method 11, empty long string, end
    assertThat(ByteBufUtil.hexDump(out))
        .isEqualTo("01" + "0005" + "00000008" + "0014000b" + "00000000" + "ce");
    // bits pack into one octet, lowest first: basic.nack(tag 7, multiple, requeue)
    assertThat(encode(AmqpMethod.of("basic.nack", 7L, true, true)))
        .isEqualTo(bytes("003c0078" + "0000000000000007" + "03"));
  }

  static byte[] bytes(String hex) {
    return ByteBufUtil.decodeHexDump(hex);
  }

  /** The protocol header, then a method and a heartbeat, fed one byte at a time. */
  @Test
  void framesSplitAtEveryByteDecode() {
    ByteBuf all = Unpooled.buffer();
    all.writeBytes(ProtocolHeader.AMQP_0_9_1);
    ByteBuf p = Unpooled.buffer();
    AmqpMethods.write(AmqpMethod.of("channel.open", ""), p);
    AmqpFrameEncoder.encodeTo(new AmqpFrame(AmqpFrame.METHOD, 1, p), all);
    AmqpFrameEncoder.encodeTo(new AmqpFrame(AmqpFrame.HEARTBEAT, 0, Unpooled.EMPTY_BUFFER), all);
    EmbeddedChannel ch = new EmbeddedChannel(new AmqpFrameDecoder(4096));
    while (all.isReadable()) {
      ch.writeInbound(all.readRetainedSlice(1));
    }
    all.release();
    Object first = ch.readInbound();
    assertThat(first).isInstanceOf(ProtocolHeader.class);
    AmqpFrame method = ch.readInbound();
    assertThat(method.channel()).isEqualTo(1);
    assertThat(AmqpMethods.read(method.payload()).name()).isEqualTo("channel.open");
    method.release();
    AmqpFrame hb = ch.readInbound();
    assertThat(hb.type()).isEqualTo(AmqpFrame.HEARTBEAT);
    hb.release();
    Object none = ch.readInbound();
    assertThat(none).isNull();
    ch.finishAndReleaseAll();
  }

  @Test
  void aWrongProtocolHeaderIsReported() {
    EmbeddedChannel ch = new EmbeddedChannel(new AmqpFrameDecoder(4096));
    ch.writeInbound(
        Unpooled.wrappedBuffer(
            "AMQP\u0001\u0001\u0000\u0009".getBytes(StandardCharsets.ISO_8859_1)));
    ProtocolHeader h = ch.readInbound();
    assertThat(h.supported()).isFalse();
    EmbeddedChannel http = new EmbeddedChannel(new AmqpFrameDecoder(4096));
    http.writeInbound(Unpooled.wrappedBuffer("GET ".getBytes(StandardCharsets.US_ASCII)));
    assertThat(((ProtocolHeader) http.readInbound()).supported()).isFalse();
  }

  static AmqpException decodeError(String hexAfterHeader) {
    EmbeddedChannel ch = new EmbeddedChannel(new AmqpFrameDecoder(4096));
    ch.writeInbound(Unpooled.wrappedBuffer(ProtocolHeader.AMQP_0_9_1));
    ch.readInbound();
    ch.writeInbound(Unpooled.wrappedBuffer(bytes(hexAfterHeader)));
    Object out = ch.readInbound();
    ch.finishAndReleaseAll();
    return (AmqpException) out;
  }

  @Test
  void badFramesAreFrameErrors() {
    // over frame-max
    assertThat(decodeError("01" + "0001" + "00100000").code()).isEqualTo(501);
    // unknown type
    assertThat(decodeError("09" + "0000" + "00000000" + "ce").code()).isEqualTo(501);
    // wrong end octet
    AmqpException end = decodeError("08" + "0000" + "00000000" + "00");
    assertThat(end.code()).isEqualTo(501);
    assertThat(end.hard()).isTrue();
    assertThat(end.getMessage()).contains("end octet");
  }

  @Test
  void badMethodsGetSyntaxAndNotImplementedErrors() {
    // queue.declare cut short
    assertThatThrownBy(
            () ->
                AmqpMethods.read(
                    Unpooled.wrappedBuffer(bytes("0032000a" + "0000" + "05" + "6162"))))
        .isInstanceOfSatisfying(AmqpException.class, e -> assertThat(e.code()).isEqualTo(502));
    // bytes after the last argument
    assertThatThrownBy(() -> AmqpMethods.read(Unpooled.wrappedBuffer(bytes("00140029" + "00"))))
        .isInstanceOfSatisfying(AmqpException.class, e -> assertThat(e.code()).isEqualTo(502));
    // unknown method
    assertThatThrownBy(() -> AmqpMethods.read(Unpooled.wrappedBuffer(bytes("00630001"))))
        .isInstanceOfSatisfying(AmqpException.class, e -> assertThat(e.code()).isEqualTo(540));
    // unknown field type in a table
    assertThatThrownBy(
            () -> AmqpTypes.readTable(Unpooled.wrappedBuffer(bytes("00000003" + "0161" + "5a"))))
        .isInstanceOfSatisfying(AmqpException.class, e -> assertThat(e.code()).isEqualTo(502));
    // table longer than its frame
    assertThatThrownBy(() -> AmqpTypes.readTable(Unpooled.wrappedBuffer(bytes("000000ff" + "00"))))
        .isInstanceOfSatisfying(AmqpException.class, e -> assertThat(e.code()).isEqualTo(502));
  }

  @Test
  void plainAndAmqplainCredentials() {
    assertThat(
            AmqpConnection.credentials("PLAIN", "\0guest\0secret".getBytes(StandardCharsets.UTF_8)))
        .containsExactly("guest", "secret");
    ByteBuf t = Unpooled.buffer();
    AmqpTypes.writeTable(t, new LinkedHashMap<>(Map.of("LOGIN", "bob", "PASSWORD", "pw")));
    t.skipBytes(4); // AMQPLAIN sends the table without its length
    assertThat(AmqpConnection.credentials("AMQPLAIN", ByteBufUtil.getBytes(t)))
        .containsExactly("bob", "pw");
    assertThatThrownBy(() -> AmqpConnection.credentials("EXTERNAL", new byte[0]))
        .isInstanceOfSatisfying(AmqpException.class, e -> assertThat(e.code()).isEqualTo(403));
  }

  /** RabbitMQ 3.10.8's answers (PROTOCOLS.md B4). */
  @Test
  void topicMatchingAsRabbitMq() {
    List<String> keys = List.of("a", "a.b", "a.x.b", "a.x.y.b", "b", "", "a.", ".a", "a..b", "x.y");
    Map<String, List<String>> expected = new LinkedHashMap<>();
    expected.put("a.#", List.of("a", "a.b", "a.x.b", "a.x.y.b", "a.", "a..b"));
    expected.put("#.b", List.of("a.b", "a.x.b", "a.x.y.b", "b", "a..b"));
    expected.put("a.#.b", List.of("a.b", "a.x.b", "a.x.y.b", "a..b"));
    expected.put("a.*", List.of("a.b", "a."));
    expected.put("a.*.b", List.of("a.x.b", "a..b"));
    expected.put("*", List.of("a", "b"));
    expected.put("*.*", List.of("a.b", "a.", ".a", "x.y"));
    expected.put("#", keys);
    expected.put("", List.of(""));
    expected.forEach(
        (pattern, matched) ->
            assertThat(keys.stream().filter(k -> AmqpSubjects.topicMatches(pattern, k)).toList())
                .as(pattern)
                .isEqualTo(matched));
  }

  @Test
  void subjectsAreReversible() {
    for (String[] xk :
        List.of(
            new String[] {"amq.topic", "a.b"},
            new String[] {"orders", ""},
            new String[] {"x y", "a..b"},
            new String[] {"e%", "a.*.>.%"},
            new String[] {"é", "."})) {
      String subject = AmqpSubjects.subject(xk[0], xk[1]);
      io.switchboard.core.subject.Subjects.validateSubject(
          subject, io.switchboard.core.subject.SubjectLimits.DEFAULTS);
      assertThat(AmqpSubjects.exchangeAndKey(subject)).as(subject).containsExactly(xk);
    }
    assertThat(AmqpSubjects.subject("amq.topic", "a.b")).isEqualTo("amq%2Etopic.a.b");
    assertThat(AmqpSubjects.subject("x", "a.")).isEqualTo("x.a.%");
    assertThat(AmqpSubjects.patterns("topic", "t", "a.#")).containsExactly("t.a", "t.a.>");
    assertThat(AmqpSubjects.patterns("topic", "t", "*.b")).containsExactly("t.*.b");
    assertThat(AmqpSubjects.patterns("fanout", "f", "ignored")).containsExactly("f", "f.>");
    assertThat(AmqpSubjects.patterns("topic", "t", "#.b")).containsExactly("t", "t.>");
    assertThat(AmqpSubjects.patterns("topic", "t", "a.*.#.b")).containsExactly("t.a.*", "t.a.*.>");
    assertThat(AmqpSubjects.needsFilter("topic", "a.#.b")).isTrue();
    assertThat(AmqpSubjects.needsFilter("topic", "a.#")).isFalse();
    assertThat(AmqpSubjects.needsFilter("direct", "a.#.b")).isFalse();
    assertThat(AmqpSubjects.keyWords(AmqpSubjects.subject("x.y", "a..b")))
        .containsExactly("a", "", "b");
    assertThat(AmqpSubjects.keyWords("x")).isEmpty();
    assertThat(Arrays.asList(AmqpSubjects.exchangeAndKey("t"))).containsExactly("t", "");
  }
}
