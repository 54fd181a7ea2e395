package io.switchboard.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.switchboard.core.Header;
import io.switchboard.protocol.FrameType;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.frame.AckEntry;
import io.switchboard.protocol.frame.Acked;
import io.switchboard.protocol.frame.Acks;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.AdminReply;
import io.switchboard.protocol.frame.AuthChallenge;
import io.switchboard.protocol.frame.AuthResponse;
import io.switchboard.protocol.frame.Consume;
import io.switchboard.protocol.frame.Credit;
import io.switchboard.protocol.frame.Deliveries;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.DeliveryPush;
import io.switchboard.protocol.frame.Dropped;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Fetch;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Goodbye;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.Last;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.Messages;
import io.switchboard.protocol.frame.Ok;
import io.switchboard.protocol.frame.Ping;
import io.switchboard.protocol.frame.Pong;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.PubAckBatch;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.protocol.frame.PublishBatch;
import io.switchboard.protocol.frame.Read;
import io.switchboard.protocol.frame.ReadSubject;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.protocol.frame.Request;
import io.switchboard.protocol.frame.StoredEntry;
import io.switchboard.protocol.frame.Subscribe;
import io.switchboard.protocol.frame.Unsubscribe;
import io.switchboard.protocol.frame.Welcome;
import io.switchboard.testkit.netty.LeakCheck;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Builders;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/** Round trip of generated frames of every type, whole and through the pipeline decoder. */
class FramePropertiesTest {

  @AfterContainer
  static void noLeaks() {
    LeakCheck.assertNoLeaks();
  }

  @Property(tries = 2000)
  void shouldRoundTripEveryGeneratedFrame(@ForAll("frames") Frame frame) {
    ByteBuf buf = FrameCodec.encode(PooledByteBufAllocator.DEFAULT, frame);
    try {
      Frames.assertSame(FrameCodec.decode(buf, ProtocolLimits.DEFAULTS), frame);
    } finally {
      buf.release();
    }
  }

  @Property(tries = 300)
  void shouldDecodeAGeneratedConversationThroughThePipeline(
      @ForAll("clientFrames") List<Frame> frames) {
    List<Frame> expected = new ArrayList<>();
    expected.add(SampleFrames.HELLO);
    expected.addAll(frames);
    EmbeddedChannel out = new EmbeddedChannel(NativeFrameEncoder.INSTANCE);
    for (Frame f : expected) {
      out.writeOutbound(f);
    }
    EmbeddedChannel in =
        new EmbeddedChannel(new NativeFrameDecoder(Role.SERVER, ProtocolLimits.DEFAULTS));
    for (Object b; (b = out.readOutbound()) != null; ) {
      in.writeInbound(b);
    }
    for (Frame f : expected) {
      Frames.assertSame(in.readInbound(), f);
    }
    assertThat(in.finish()).isFalse();
    assertThat(out.finish()).isFalse();
  }

  // ---- generators

  @Provide
  Arbitrary<List<Frame>> clientFrames() {
    return frames()
        .filter(
            f ->
                f.type().receivableBy(Role.SERVER)
                    && f.type() != FrameType.HELLO
                    && f.type() != FrameType.AUTH_RESPONSE)
        .list()
        .ofMaxSize(8);
  }

  @Provide
  Arbitrary<Frame> frames() {
    Arbitrary<Integer> id = Arbitraries.integers().filter(i -> i != 0);
    Arbitrary<Integer> pos = Arbitraries.integers().between(1, Integer.MAX_VALUE);
    Arbitrary<Integer> nonNeg = Arbitraries.integers().greaterOrEqual(0);
    Arbitrary<Long> anyLong = Arbitraries.longs();
    return Arbitraries.oneOf(
        List.of(
            Combinators.combine(
                    Arbitraries.integers().between(1, 100),
                    Arbitraries.integers().between(0, 100),
                    anyLong,
                    str(),
                    nbytes())
                .as(
                    (min, extra, feat, name, token) ->
                        new Hello(min, min + extra, feat, name, token)),
            Combinators.combine(
                    Arbitraries.integers().between(1, 0xFFFF),
                    anyLong,
                    str(),
                    pos,
                    pos,
                    Arbitraries.longs().greaterOrEqual(1),
                    nonNeg)
                .as(Welcome::new),
            anyLong.map(Ping::new),
            bytes().map(AuthChallenge::new),
            bytes().map(AuthResponse::new),
            anyLong.map(Pong::new),
            Combinators.combine(Arbitraries.integers().between(0, 0xFFFF), str()).as(Goodbye::new),
            Combinators.combine(
                    Arbitraries.integers(),
                    Arbitraries.of(true, false),
                    Arbitraries.integers().between(1, 0xFFFF),
                    str())
                .as(ErrorFrame::new),
            id.map(Ok::new),
            publish(),
            publish().list().ofMinSize(1).ofMaxSize(5).map(PublishBatch::new),
            pubAck(),
            pubAck().list().ofMinSize(1).ofMaxSize(5).map(PubAckBatch::new),
            Combinators.combine(id, id, str(), nstr()).as(Subscribe::new),
            Combinators.combine(id, nonNeg).as(Unsubscribe::new),
            Combinators.combine(id, anyLong, str(), nstr(), headers(), nbytes(), bytes())
                .as(LiveMessage::new),
            Combinators.combine(id, Arbitraries.longs().greaterOrEqual(1)).as(Dropped::new),
            Combinators.combine(id, pos, str(), headers(), bytes()).as(Request::new),
            Combinators.combine(id, headers(), bytes()).as(Reply::new),
            Combinators.combine(id, pos, nonNeg, str(), str(), nstr()).as(Fetch::new),
            Combinators.combine(id, delivery().list().ofMaxSize(4)).as(Deliveries::new),
            Combinators.combine(id, id, pos, str(), str(), nstr()).as(Consume::new),
            Combinators.combine(id, pos).as(Credit::new),
            Combinators.combine(id, delivery()).as(DeliveryPush::new),
            Combinators.combine(
                    id,
                    Arbitraries.of(true, false),
                    str(),
                    str(),
                    ackEntry().list().ofMinSize(1).ofMaxSize(5))
                .as(Acks::new),
            Combinators.combine(id, Arbitraries.of(true, false).list().ofMinSize(1).ofMaxSize(10))
                .as(Acked::new),
            Combinators.combine(id, Arbitraries.integers(), anyLong, pos, pos, str()).as(Read::new),
            Combinators.combine(id, anyLong, pos, str(), str()).as(ReadSubject::new),
            Combinators.combine(id, str(), str()).as(Last::new),
            Combinators.combine(id, anyLong, stored().list().ofMaxSize(4)).as(Messages::new),
            Combinators.combine(id, Arbitraries.of(Admin.Op.class), bytes()).as(Admin::new),
            Combinators.combine(id, bytes()).as(AdminReply::new)));
  }

  private static Arbitrary<Publish> publish() {
    return Builders.withBuilder(() -> new Object[12])
        .use(Arbitraries.integers().filter(i -> i != 0))
        .in((a, v) -> set(a, 0, v))
        .use(Arbitraries.of(true, false))
        .in((a, v) -> set(a, 1, v))
        .use(str())
        .in((a, v) -> set(a, 2, v))
        .use(nstr())
        .in((a, v) -> set(a, 3, v))
        .use(headers())
        .in((a, v) -> set(a, 4, v))
        .use(nbytes())
        .in((a, v) -> set(a, 5, v))
        .use(bytes())
        .in((a, v) -> set(a, 6, v))
        .use(nstr())
        .in((a, v) -> set(a, 7, v))
        .use(nstr())
        .in((a, v) -> set(a, 8, v))
        .use(
            Arbitraries.oneOf(
                Arbitraries.just(Publish.NO_EXPECTATION), Arbitraries.longs().greaterOrEqual(-1)))
        .in((a, v) -> set(a, 9, v))
        .use(
            Combinators.combine(
                    Arbitraries.longs().greaterOrEqual(0),
                    Arbitraries.shorts().greaterOrEqual((short) 0),
                    Arbitraries.integers().greaterOrEqual(0))
                .as(Publish.Producer::new)
                .injectNull(0.5))
        .in((a, v) -> set(a, 10, v))
        .use(Arbitraries.longs().greaterOrEqual(0))
        .in((a, v) -> set(a, 11, v))
        .build(
            a ->
                new Publish(
                    (Integer) a[0],
                    (Boolean) a[1],
                    (String) a[2],
                    (String) a[3],
                    headersOf(a[4]),
                    (byte[]) a[5],
                    (byte[]) a[6],
                    (String) a[7],
                    (String) a[8],
                    (Long) a[9],
                    (Publish.Producer) a[10],
                    (Long) a[11]));
  }

  private static Object[] set(Object[] a, int i, Object v) {
    a[i] = v;
    return a;
  }

  @SuppressWarnings("unchecked")
  private static List<Header> headersOf(Object o) {
    return (List<Header>) o;
  }

  private static Arbitrary<PubAck> pubAck() {
    return Combinators.combine(
            Arbitraries.integers().filter(i -> i != 0),
            nstr(),
            Arbitraries.integers(),
            Arbitraries.longs(),
            Arbitraries.of(PubAck.Durability.class),
            Arbitraries.of(true, false),
            Arbitraries.of(0L, 1L, 1_800_000_000_000L, Long.MAX_VALUE))
        .as(PubAck::new);
  }

  private static Arbitrary<DeliveryEntry> delivery() {
    return Combinators.combine(
            Arbitraries.integers(),
            Arbitraries.longs(),
            Arbitraries.integers().between(1, Integer.MAX_VALUE),
            Arbitraries.longs(),
            str(),
            nstr(),
            headers(),
            nbytes())
        .flatAs(
            (p, o, c, t, s, r, h, k) ->
                bytes().map(b -> new DeliveryEntry(p, o, c, t, s, r, h, k, b)));
  }

  private static Arbitrary<StoredEntry> stored() {
    return Combinators.combine(
            Arbitraries.integers(),
            Arbitraries.longs(),
            Arbitraries.longs(),
            str(),
            nstr(),
            headers(),
            nbytes(),
            bytes())
        .as(StoredEntry::new);
  }

  private static Arbitrary<AckEntry> ackEntry() {
    Arbitrary<Integer> count = Arbitraries.integers().between(1, Integer.MAX_VALUE);
    return Arbitraries.oneOf(
        Combinators.combine(Arbitraries.integers(), Arbitraries.longs(), count).as(AckEntry::ack),
        Combinators.combine(Arbitraries.integers(), Arbitraries.longs(), count)
            .as(AckEntry::inProgress),
        Combinators.combine(
                Arbitraries.integers(),
                Arbitraries.longs(),
                count,
                Arbitraries.longs().greaterOrEqual(-1),
                nstr())
            .as(AckEntry::nack));
  }

  /** Strings without lone surrogates (which UTF-8 cannot carry), up to 40 chars. */
  private static Arbitrary<String> str() {
    return Arbitraries.strings()
        .withCharRange('\u0000', '\uD7FF')
        .withCharRange('\uE000', '\uFFFF')
        .ofMaxLength(40);
  }

  private static Arbitrary<String> nstr() {
    return str().injectNull(0.3);
  }

  private static Arbitrary<byte[]> bytes() {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
  }

  private static Arbitrary<byte[]> nbytes() {
    return bytes().injectNull(0.3);
  }

  private static Arbitrary<List<Header>> headers() {
    return Combinators.combine(str(), nbytes()).as(Header::new).list().ofMaxSize(4);
  }
}
