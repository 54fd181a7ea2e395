package io.switchboard.protocol.codec;

import static io.switchboard.protocol.FrameDescriptor.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.FrameType;
import io.switchboard.protocol.ProtocolLimits;
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
import java.util.Arrays;
import java.util.List;

/**
 * Parses one frame body that has fully arrived. Confined to one connection (it holds the body being
 * parsed); the buffer is borrowed for the call and never kept.
 *
 * <p>Every variable-length field is checked against its limit and against the bytes left in the
 * body before anything is allocated for it [P-9.1]. Byte fields are copied out into arrays the
 * frame owns, so the network buffer can be released as soon as this returns. Failures are thrown as
 * {@link SwitchboardException}s carrying the exact protocol code.
 */
final class FrameReader {
  private final ProtocolLimits limits;
  private ByteBuf in;
  private int end;
  private FrameType type;

  FrameReader(ProtocolLimits limits) {
    this.limits = limits;
  }

  /**
   * Parses the {@code length}-byte body of a {@code type} frame at {@code in}'s reader index and
   * advances past it. Borrows {@code in}.
   */
  Frame read(FrameType frameType, ByteBuf buf, int length) {
    this.type = frameType;
    this.in = buf;
    this.end = buf.readerIndex() + length;
    try {
      Frame f = body();
      if (in.readerIndex() != end) {
        throw malformed((end - in.readerIndex()) + " bytes after the last field"); // [P-2.4]
      }
      return f;
    } catch (IllegalArgumentException e) {
      // A record refused a combination of values the checks below let through.
      throw invalid("field", e.getMessage());
    } finally {
      this.in = null;
    }
  }

  private Frame body() {
    switch (type) {
      case HELLO:
        return hello();
      case WELCOME:
        return welcome();
      case PING:
        return new Ping(i64());
      case PONG:
        return new Pong(i64());
      case GOODBYE:
        return new Goodbye(u16(), str("reason", limits.maxStringBytes()));
      case ERROR:
        {
          int requestId = i32(); // 0: the connection
          int options = options("options", ~ERROR_FATAL & 0xFF);
          int code = u16();
          if (code == 0) {
            throw invalid("code", "0");
          }
          return new ErrorFrame(
              requestId, options != 0, code, str("message", limits.maxStringBytes()));
        }
      case OK:
        return new Ok(id("requestId"));
      case AUTH_CHALLENGE:
        return new AuthChallenge(authData());
      case AUTH_RESPONSE:
        return new AuthResponse(authData());
      case PUBLISH:
        return publish();
      case PUBLISH_BATCH:
        {
          int n = count(true, MIN_PUBLISH_ENTRY_BYTES);
          Publish[] ps = new Publish[n];
          for (int i = 0; i < n; i++) {
            ps[i] = publish();
          }
          return new PublishBatch(List.of(ps));
        }
      case PUB_ACK:
        return pubAck();
      case PUB_ACK_BATCH:
        {
          int n = count(true, MIN_PUB_ACK_ENTRY_BYTES);
          PubAck[] as = new PubAck[n];
          for (int i = 0; i < n; i++) {
            as[i] = pubAck();
          }
          return new PubAckBatch(List.of(as));
        }
      case SUBSCRIBE:
        return new Subscribe(id("requestId"), id("sid"), subject("pattern"), nstr("queueGroup"));
      case UNSUBSCRIBE:
        return new Unsubscribe(id("sid"), nonNegative("maxMessages"));
      case MESSAGE:
        {
          int sid = id("sid");
          long timestampMs = i64();
          String subject = subject("subject");
          String replyTo = nsubject("replyTo");
          List<Header> headers = headers();
          byte[] key = nbytes("key");
          return new LiveMessage(
              sid, timestampMs, subject, replyTo, headers, key, bytes("payload"));
        }
      case DROPPED:
        {
          int sid = id("sid");
          long dropped = i64();
          if (dropped < 1) {
            throw invalid("totalDropped", Long.toString(dropped));
          }
          return new Dropped(sid, dropped);
        }
      case REQUEST:
        {
          int requestId = id("requestId");
          int timeoutMs = positive("timeoutMs");
          String subject = subject("subject");
          List<Header> headers = headers();
          return new Request(requestId, timeoutMs, subject, headers, bytes("payload"));
        }
      case REPLY:
        {
          int requestId = id("requestId");
          List<Header> headers = headers();
          return new Reply(requestId, headers, bytes("payload"));
        }
      case FETCH:
        return new Fetch(
            id("requestId"),
            positive("maxMessages"),
            nonNegative("maxWaitMs"),
            name("stream"),
            name("consumer"),
            nstr("member"));
      case DELIVERIES:
        {
          int requestId = id("requestId");
          int n = count(false, MIN_DELIVERY_ENTRY_BYTES);
          DeliveryEntry[] ds = new DeliveryEntry[n];
          for (int i = 0; i < n; i++) {
            ds[i] = delivery();
          }
          return new Deliveries(requestId, List.of(ds));
        }
      case CONSUME:
        return new Consume(
            id("requestId"),
            id("sid"),
            positive("credits"),
            name("stream"),
            name("consumer"),
            nstr("member"));
      case CREDIT:
        return new Credit(id("sid"), positive("credits"));
      case DELIVERY:
        return new DeliveryPush(id("sid"), delivery());
      case ACKS:
        return acks();
      case ACKED:
        {
          int requestId = id("requestId");
          int n = count(true, 1);
          Boolean[] applied = new Boolean[n];
          for (int i = 0; i < n; i++) {
            int v = u8();
            if (v > 1) {
              throw invalid("applied", Integer.toString(v));
            }
            applied[i] = v == 1;
          }
          return new Acked(requestId, Arrays.asList(applied));
        }
      case READ:
        return new Read(
            id("requestId"),
            i32(),
            i64(),
            positive("maxBytes"),
            positive("maxMessages"),
            name("stream"));
      case READ_SUBJECT:
        return new ReadSubject(
            id("requestId"), i64(), positive("maxMessages"), name("stream"), subject("subject"));
      case LAST:
        return new Last(id("requestId"), name("stream"), subject("subject"));
      case MESSAGES:
        {
          int requestId = id("requestId");
          long nextOffset = i64();
          int n = count(false, MIN_STORED_ENTRY_BYTES);
          StoredEntry[] ms = new StoredEntry[n];
          for (int i = 0; i < n; i++) {
            ms[i] = stored();
          }
          return new Messages(requestId, nextOffset, List.of(ms));
        }
      case ADMIN:
        {
          int requestId = id("requestId");
          int code = u8();
          Admin.Op op = Admin.Op.byCode(code);
          if (op == null) {
            throw invalid("op", Integer.toString(code));
          }
          return new Admin(requestId, op, bytes("body"));
        }
      case ADMIN_REPLY:
        return new AdminReply(id("requestId"), bytes("body"));
      default:
        throw new IllegalStateException("no layout for " + type);
    }
  }

  /** [P-4.1] */
  private Hello hello() {
    int magic = i32();
    if (magic != MAGIC) {
      throw SwitchboardException.of(
          ErrorCode.BAD_MAGIC, Integer.toHexString(magic), Integer.toHexString(MAGIC));
    }
    int min = u16();
    int max = u16();
    if (min < 1 || max < min) {
      throw invalid("versions", min + ".." + max);
    }
    long features = i64();
    String name = str("clientName", limits.maxStringBytes());
    byte[] token = nbytes("authToken");
    if (token != null && token.length > limits.maxStringBytes()) {
      throw tooLarge("authToken", token.length, limits.maxStringBytes());
    }
    return new Hello(min, max, features, name, token);
  }

  /** [P-4.5] a SASL message: bytes, at most {@code maxStringBytes}. */
  private byte[] authData() {
    need(4);
    int len = in.getInt(in.readerIndex());
    if (len > limits.maxStringBytes()) {
      throw tooLarge("data", len, limits.maxStringBytes());
    }
    return bytes("data");
  }

  /** [P-4.2] */
  private Welcome welcome() {
    int version = u16();
    if (version < 1) {
      throw invalid("version", "0");
    }
    long features = i64();
    String serverId = str("serverId", limits.maxStringBytes());
    int maxFrameBytes = positive("maxFrameBytes");
    int maxPendingRequests = positive("maxPendingRequests");
    long maxPendingBytes = i64();
    if (maxPendingBytes < 1) {
      throw invalid("maxPendingBytes", Long.toString(maxPendingBytes));
    }
    return new Welcome(
        version,
        features,
        serverId,
        maxFrameBytes,
        maxPendingRequests,
        maxPendingBytes,
        nonNegative("pingIntervalMs"));
  }

  /** [P-6.1] */
  private Publish publish() {
    int options = options("options", PUB_RESERVED);
    int requestId = id("requestId");
    String expectedStream = (options & PUB_EXPECTED_STREAM) != 0 ? name("expectedStream") : null;
    String messageId = (options & PUB_MESSAGE_ID) != 0 ? name("messageId") : null;
    long expectedLast = Publish.NO_EXPECTATION;
    if ((options & PUB_EXPECTED_LAST_OFFSET) != 0) {
      expectedLast = i64();
      if (expectedLast < -1) {
        throw invalid("expectedLastSubjectOffset", Long.toString(expectedLast));
      }
    }
    Publish.Producer producer = null;
    if ((options & PUB_PRODUCER) != 0) {
      long id = i64();
      short epoch = (short) u16();
      int sequence = i32();
      if (id < 0 || epoch < 0 || sequence < 0) {
        throw invalid("producer", id + "/" + epoch + "/" + sequence);
      }
      producer = new Publish.Producer(id, epoch, sequence);
    }
    long timestampMs = 0;
    if ((options & PUB_TIMESTAMP) != 0) {
      timestampMs = i64();
      if (timestampMs < 1) {
        throw invalid("timestampMs", Long.toString(timestampMs));
      }
    }
    String subject = subject("subject");
    String replyTo = nsubject("replyTo");
    List<Header> headers = headers();
    byte[] key = nbytes("key");
    byte[] payload = bytes("payload");
    return new Publish(
        requestId,
        (options & PUB_NO_ACK) != 0,
        subject,
        replyTo,
        headers,
        key,
        payload,
        expectedStream,
        messageId,
        expectedLast,
        producer,
        timestampMs);
  }

  /** [P-6.3] */
  private PubAck pubAck() {
    int requestId = id("requestId");
    int options = options("options", ACK_RESERVED);
    int durability = u8();
    PubAck.Durability[] all = PubAck.Durability.values();
    if (durability >= all.length) {
      throw invalid("durability", Integer.toString(durability));
    }
    String stream = nstr("stream");
    int partition = i32();
    long offset = i64();
    long deliverAtMs = 0;
    if ((options & ACK_DELAYED) != 0) {
      deliverAtMs = i64();
      if (deliverAtMs <= 0) {
        throw invalid("deliverAtMs", Long.toString(deliverAtMs));
      }
    }
    return new PubAck(
        requestId,
        stream,
        partition,
        offset,
        all[durability],
        (options & ACK_DUPLICATE) != 0,
        deliverAtMs);
  }

  /** [P-8.2] */
  private DeliveryEntry delivery() {
    int partition = i32();
    long offset = i64();
    int deliveryCount = positive("deliveryCount");
    long timestampMs = i64();
    String subject = subject("subject");
    String replyTo = nsubject("replyTo");
    List<Header> headers = headers();
    byte[] key = nbytes("key");
    return new DeliveryEntry(
        partition,
        offset,
        deliveryCount,
        timestampMs,
        subject,
        replyTo,
        headers,
        key,
        bytes("payload"));
  }

  /** [P-10.4] */
  private StoredEntry stored() {
    int partition = i32();
    long offset = i64();
    long timestampMs = i64();
    String subject = subject("subject");
    String replyTo = nsubject("replyTo");
    List<Header> headers = headers();
    byte[] key = nbytes("key");
    return new StoredEntry(
        partition, offset, timestampMs, subject, replyTo, headers, key, bytes("payload"));
  }

  /** [P-8.6] */
  private Acks acks() {
    int requestId = id("requestId");
    int options = options("options", ACKS_RESERVED);
    String stream = name("stream");
    String consumer = name("consumer");
    int n = count(true, MIN_ACK_ENTRY_BYTES);
    AckEntry[] entries = new AckEntry[n];
    for (int i = 0; i < n; i++) {
      int code = u8();
      AckEntry.Kind kind = AckEntry.Kind.byCode(code);
      if (kind == null) {
        throw invalid("ack kind", Integer.toString(code));
      }
      int partition = i32();
      long offset = i64();
      int deliveryCount = positive("deliveryCount");
      long delayMs = 0;
      String error = null;
      if (kind == AckEntry.Kind.NACK) {
        delayMs = i64();
        if (delayMs < -1) {
          throw invalid("delayMs", Long.toString(delayMs));
        }
        error = nstr("error");
      }
      entries[i] = new AckEntry(kind, partition, offset, deliveryCount, delayMs, error);
    }
    return new Acks(requestId, options != 0, stream, consumer, List.of(entries));
  }

  // ---- fields

  private void need(int bytes) {
    if (end - in.readerIndex() < bytes) {
      throw malformed("a field runs past the end of the frame"); // [P-2.4]
    }
  }

  private int u8() {
    need(1);
    return in.readUnsignedByte();
  }

  private int u16() {
    need(2);
    return in.readUnsignedShort();
  }

  private int i32() {
    need(4);
    return in.readInt();
  }

  private long i64() {
    need(8);
    return in.readLong();
  }

  /** A request or subscription id: any uint32 but 0 [P-3.4]. */
  private int id(String field) {
    int id = i32();
    if (id == 0) {
      throw invalid(field, "0");
    }
    return id;
  }

  private int positive(String field) {
    int v = i32();
    if (v < 1) {
      throw invalid(field, Integer.toString(v));
    }
    return v;
  }

  private int nonNegative(String field) {
    int v = i32();
    if (v < 0) {
      throw invalid(field, Integer.toString(v));
    }
    return v;
  }

  /** An options byte; bits in {@code reserved} must be zero [P-2.3]. */
  private int options(String field, int reserved) {
    int v = u8();
    if ((v & reserved) != 0) {
      throw SwitchboardException.of(
          ErrorCode.RESERVED_BITS_SET, type, field, Integer.toHexString(v));
    }
    return v;
  }

  /** A count of entries: at most maxBatchEntries, each at least {@code minEntry} bytes [P-9.1]. */
  private int count(boolean atLeastOne, int minEntryBytes) {
    int n = u16();
    if (n == 0 && atLeastOne) {
      throw invalid("count", "0");
    }
    if (n > limits.maxBatchEntries()) {
      throw tooLarge("entry count", n, limits.maxBatchEntries());
    }
    need(n * minEntryBytes); // n <= 65535 and minEntryBytes < 64: no overflow
    return n;
  }

  private String subject(String field) {
    return str(field, limits.maxSubjectBytes());
  }

  private String nsubject(String field) {
    return nstr(field, limits.maxSubjectBytes());
  }

  private String name(String field) {
    return str(field, limits.maxStringBytes());
  }

  private String nstr(String field) {
    return nstr(field, limits.maxStringBytes());
  }

  private String nstr(String field, int max) {
    need(2);
    if (in.getUnsignedShort(in.readerIndex()) == NULL_STRING) {
      in.skipBytes(2);
      return null;
    }
    return str(field, max);
  }

  /** [P-1.3]: UTF-8, validated; bounded by {@code max}. */
  private String str(String field, int max) {
    int len = u16();
    if (len > max) {
      throw tooLarge(field, len, max);
    }
    need(len);
    int at = in.readerIndex();
    if (!ByteBufUtil.isText(in, at, len, StandardCharsets.UTF_8)) {
      throw malformed(field + " is not valid UTF-8");
    }
    String s = in.toString(at, len, StandardCharsets.UTF_8);
    in.skipBytes(len);
    return s;
  }

  /** [P-1.4]: copied out, so the frame owns it and the network buffer can go. */
  private byte[] bytes(String field) {
    int len = i32();
    if (len < 0) {
      throw malformed(field + " has length " + len);
    }
    need(len);
    byte[] b = new byte[len];
    in.readBytes(b);
    return b;
  }

  private byte[] nbytes(String field) {
    need(4);
    if (in.getInt(in.readerIndex()) == NULL_BYTES) {
      in.skipBytes(4);
      return null;
    }
    return bytes(field);
  }

  /** [P-1.5]: count and total bytes bounded before any header is built. */
  private List<Header> headers() {
    int n = u16();
    if (n == 0) {
      return List.of();
    }
    if (n > limits.maxHeaderCount()) {
      throw tooLarge("header count", n, limits.maxHeaderCount());
    }
    need(n * MIN_HEADER_BYTES);
    List<Header> out = new ArrayList<>(n);
    long total = 0;
    for (int i = 0; i < n; i++) {
      String name = str("header name", limits.maxHeadersBytes());
      total += ByteBufUtil.utf8Bytes(name);
      need(4);
      int valueLen = in.getInt(in.readerIndex());
      if (valueLen > 0) {
        total += valueLen;
      }
      if (total > limits.maxHeadersBytes()) {
        throw tooLarge("headers bytes", total, limits.maxHeadersBytes());
      }
      out.add(new Header(name, nbytes("header value")));
    }
    return out;
  }

  // ---- errors

  private SwitchboardException malformed(String detail) {
    return SwitchboardException.of(ErrorCode.MALFORMED_FRAME, type, detail);
  }

  private SwitchboardException invalid(String field, String value) {
    return SwitchboardException.of(ErrorCode.INVALID_FIELD, type, field, value);
  }

  private SwitchboardException tooLarge(String field, long size, long limit) {
    return SwitchboardException.of(ErrorCode.FIELD_TOO_LARGE, type, field, size, limit);
  }
}
