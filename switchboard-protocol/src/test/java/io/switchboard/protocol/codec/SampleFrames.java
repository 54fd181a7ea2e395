package io.switchboard.protocol.codec;

import io.switchboard.core.Header;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.FrameType;
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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Hand-picked frames of every type, with edge values (nulls, empties, extremes, non-ASCII). */
final class SampleFrames {
  private SampleFrames() {}

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static final List<Header> HEADERS =
      List.of(
          new Header("trace-id", utf8("abc")),
          new Header("empty", new byte[0]),
          new Header("none", null),
          new Header("trace-id", utf8("repeat")));

  static final Hello HELLO =
      new Hello(1, 1, FrameDescriptor.FEATURES_V1, "orders-service", utf8("secret-token"));

  static final Welcome WELCOME =
      new Welcome(1, FrameDescriptor.FEATURES_V1, "sb-1", 8 << 20, 4096, 64L << 20, 30_000);

  static Publish fullPublish(int requestId) {
    return new Publish(
        requestId,
        false,
        "orders.eu.created",
        "_INBOX.x.1",
        HEADERS,
        utf8("order-1234"),
        utf8("{\"total\":12.5}"),
        "ORDERS",
        "msg-77",
        41,
        new Publish.Producer(9, (short) 2, 1000),
        1_700_000_000_000L);
  }

  static DeliveryEntry delivery(long offset) {
    return new DeliveryEntry(
        3, offset, 2, 1_700_000_000_123L, "orders.eu.created", null, HEADERS, null, utf8("x"));
  }

  /** Frames a client sends, HELLO first. */
  static List<Frame> clientFrames() {
    return List.of(
        HELLO,
        new Hello(1, 7, 0, "", null),
        new Ping(Long.MIN_VALUE),
        new Pong(-1),
        new Goodbye(0, ""),
        new ErrorFrame(0, true, 3000, "bad frame from server"),
        Publish.of(1, "a", new byte[0]),
        fullPublish(-1),
        new Publish(
            7, true, "ü.ñ.日本", null, List.of(), new byte[0], utf8("p"), null, null, -1, null, 0),
        new PublishBatch(List.of(Publish.of(2, "a.b", utf8("1")), fullPublish(3))),
        new Subscribe(4, 1, "orders.>", null),
        new Subscribe(5, 2, "orders.*.created", "workers"),
        new Unsubscribe(2, 0),
        new Unsubscribe(1, 10),
        new Request(6, 2000, "svc.echo", HEADERS, utf8("ping")),
        new Fetch(8, 10, 500, "ORDERS", "billing", null),
        new Fetch(9, 1, 0, "ORDERS", "billing", "member-a"),
        new Consume(10, 3, 100, "ORDERS", "billing", "m1"),
        new Credit(3, 50),
        new Acks(
            11,
            true,
            "ORDERS",
            "billing",
            List.of(
                AckEntry.ack(0, 5, 1),
                AckEntry.nack(1, 6, 2, 1500, "db down"),
                AckEntry.nack(1, 7, 1, -1, null),
                AckEntry.inProgress(2, Long.MAX_VALUE, Integer.MAX_VALUE))),
        new Acks(12, false, "S", "c", List.of(AckEntry.ack(0, 0, 1))),
        new Read(13, 0, 0, 1 << 20, 100, "ORDERS"),
        new ReadSubject(14, 5, 50, "EVENTS", "order.1234"),
        new Last(15, "KV", "config.app"),
        new Admin(16, Admin.Op.STREAM_CREATE, utf8("{\"name\":\"ORDERS\"}")),
        new Admin(17, Admin.Op.CONSUMER_LIST, new byte[0]));
  }

  /** Frames a server sends, WELCOME first. */
  static List<Frame> serverFrames() {
    return List.of(
        WELCOME,
        new Ping(42),
        new Pong(42),
        new Goodbye(3025, "shutting down"),
        new ErrorFrame(7, false, 2000, "no responders are subscribed to \"svc.echo\""),
        new ErrorFrame(0, true, 65535, "a code from the future"),
        new Ok(4),
        new PubAck(1, "ORDERS", 0, 41, PubAck.Durability.FSYNCED, false),
        new PubAck(2, null, -1, -1, PubAck.Durability.MEMORY, false),
        new PubAck(4, "JOBS", 1, -1, PubAck.Durability.FSYNCED, false, 1_800_000_000_000L),
        new PubAckBatch(
            List.of(
                new PubAck(3, "ORDERS", 2, 7, PubAck.Durability.WRITTEN, true),
                new PubAck(-5, "X", 0, 0, PubAck.Durability.WRITTEN, false))),
        new LiveMessage(
            1,
            1_700_000_000_000L,
            "orders.eu.created",
            "_INBOX.a.9",
            HEADERS,
            utf8("k"),
            utf8("hello")),
        new LiveMessage(2, 0, "a", null, List.of(), null, new byte[0]),
        new Dropped(1, 1234),
        new Reply(6, HEADERS, utf8("pong")),
        new Deliveries(8, List.of(delivery(100), delivery(101))),
        new Deliveries(9, List.of()),
        new DeliveryPush(3, delivery(5)),
        new Acked(11, List.of(true, false, true, true)),
        new Messages(
            13,
            2,
            List.of(
                new StoredEntry(0, 0, 1, "orders.eu.created", null, List.of(), null, utf8("a")),
                new StoredEntry(
                    0, 1, 2, "orders.eu.created", "r.s", HEADERS, utf8("key"), utf8("b")))),
        new Messages(15, -1, List.of()),
        new AdminReply(16, utf8("{\"config\":{}}")),
        new AdminReply(17, new byte[0]));
  }

  /** Every sample, whichever side sends it. */
  static List<Frame> all() {
    List<Frame> all = new ArrayList<>(clientFrames());
    all.addAll(serverFrames());
    all.addAll(handshakeFrames());
    return all;
  }

  /**
   * The SASL frames of a handshake ([P-4.5]): only valid before WELCOME, so not in the
   * conversations {@link #receivedBy} builds (ScramHandshakeDecoderTest has those).
   */
  static List<Frame> handshakeFrames() {
    return List.of(
        new AuthChallenge(utf8("r=cnonce+snonce,s=c2FsdA==,i=4096")),
        new AuthChallenge(new byte[0]),
        new AuthResponse(utf8("c=biws,r=cnonce+snonce,p=cHJvb2Y=")));
  }

  /** The samples {@code role} receives, handshake frame first. */
  static List<Frame> receivedBy(Role role) {
    List<Frame> sent = role == Role.SERVER ? clientFrames() : serverFrames();
    List<Frame> out = new ArrayList<>();
    out.add(sent.get(0));
    for (Frame f : sent.subList(1, sent.size())) {
      if (f.type() != FrameType.HELLO && f.type() != FrameType.WELCOME) {
        out.add(f);
      }
    }
    return out;
  }

  static boolean covers(FrameType type) {
    return all().stream().anyMatch(f -> f.type() == type);
  }
}
