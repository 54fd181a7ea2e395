package io.switchboard.protocol.codec;

import static io.switchboard.protocol.FrameDescriptor.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.SwitchboardException;
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
import java.util.List;

/**
 * Computes the exact encoded size of a frame and writes it. Stateless, thread-safe. The body
 * layouts are those of {@code docs/protocol.md}; each case names its clause.
 */
final class FrameWriter {
  private FrameWriter() {}

  /** Bytes of the body of {@code f}, computed without writing anything. */
  static long bodySize(Frame f) {
    switch (f.type()) {
      case HELLO:
        {
          Hello h = (Hello) f; // [P-4.1]
          return 4 + 2 + 2 + 8 + str(h.clientName()) + nbytes(h.authToken());
        }
      case WELCOME:
        return 2 + 8 + str(((Welcome) f).serverId()) + 4 + 4 + 8 + 4; // [P-4.2]
      case PING:
      case PONG:
        return 8; // [P-5.1]
      case GOODBYE:
        return 2 + str(((Goodbye) f).reason()); // [P-5.2]
      case ERROR:
        return 4 + 1 + 2 + str(((ErrorFrame) f).message()); // [P-5.3]
      case OK:
        return 4; // [P-5.4]
      case AUTH_CHALLENGE:
        return 4 + ((AuthChallenge) f).data().length; // [P-4.5]
      case AUTH_RESPONSE:
        return 4 + ((AuthResponse) f).data().length; // [P-4.5]
      case PUBLISH:
        return publishSize((Publish) f);
      case PUBLISH_BATCH:
        {
          long n = 2;
          for (Publish p : ((PublishBatch) f).publishes()) {
            n += publishSize(p);
          }
          return n;
        }
      case PUB_ACK:
        return pubAckSize((PubAck) f);
      case PUB_ACK_BATCH:
        {
          long n = 2;
          for (PubAck a : ((PubAckBatch) f).acks()) {
            n += pubAckSize(a);
          }
          return n;
        }
      case SUBSCRIBE:
        {
          Subscribe s = (Subscribe) f; // [P-7.1]
          return 4 + 4 + str(s.pattern()) + nstr(s.queueGroup());
        }
      case UNSUBSCRIBE:
        return 4 + 4; // [P-7.2]
      case MESSAGE:
        {
          LiveMessage m = (LiveMessage) f; // [P-7.3]
          return 4 + tailSize(m.subject(), m.replyTo(), m.headers(), m.key(), m.payload());
        }
      case DROPPED:
        return 4 + 8; // [P-7.4]
      case REQUEST:
        {
          Request r = (Request) f; // [P-7.5]
          return 4 + 4 + str(r.subject()) + headers(r.headers()) + bytes(r.payload());
        }
      case REPLY:
        {
          Reply r = (Reply) f; // [P-7.6]
          return 4 + headers(r.headers()) + bytes(r.payload());
        }
      case FETCH:
        {
          Fetch x = (Fetch) f; // [P-8.1]
          return 4 + 4 + 4 + str(x.stream()) + str(x.consumer()) + nstr(x.member());
        }
      case DELIVERIES:
        {
          long n = 4 + 2; // [P-8.2]
          for (DeliveryEntry d : ((Deliveries) f).deliveries()) {
            n += deliverySize(d);
          }
          return n;
        }
      case CONSUME:
        {
          Consume c = (Consume) f; // [P-8.3]
          return 4 + 4 + 4 + str(c.stream()) + str(c.consumer()) + nstr(c.member());
        }
      case CREDIT:
        return 4 + 4; // [P-8.4]
      case DELIVERY:
        return 4 + deliverySize(((DeliveryPush) f).delivery()); // [P-8.5]
      case ACKS:
        {
          Acks a = (Acks) f; // [P-8.6]
          long n = 4 + 1 + str(a.stream()) + str(a.consumer()) + 2;
          for (AckEntry e : a.entries()) {
            n += MIN_ACK_ENTRY_BYTES;
            if (e.kind() == AckEntry.Kind.NACK) {
              n += 8 + nstr(e.error());
            }
          }
          return n;
        }
      case ACKED:
        return 4 + 2 + ((Acked) f).applied().size(); // [P-8.7]
      case READ:
        return 4 + 4 + 8 + 4 + 4 + str(((Read) f).stream()); // [P-10.1]
      case READ_SUBJECT:
        {
          ReadSubject r = (ReadSubject) f; // [P-10.2]
          return 4 + 8 + 4 + str(r.stream()) + str(r.subject());
        }
      case LAST:
        {
          Last l = (Last) f; // [P-10.3]
          return 4 + str(l.stream()) + str(l.subject());
        }
      case MESSAGES:
        {
          long n = 4 + 8 + 2; // [P-10.4]
          for (StoredEntry s : ((Messages) f).messages()) {
            n += 4 + 8 + tailSize(s.subject(), s.replyTo(), s.headers(), s.key(), s.payload());
          }
          return n;
        }
      case ADMIN:
        return 4 + 1 + bytes(((Admin) f).body()); // [P-11]
      case ADMIN_REPLY:
        return 4 + bytes(((AdminReply) f).body()); // [P-11]
      default:
        throw new IllegalStateException("no layout for " + f.type());
    }
  }

  /** Writes the body of {@code f}; {@code out} must have {@link #bodySize} bytes writable. */
  static void writeBody(ByteBuf out, Frame f) {
    switch (f.type()) {
      case HELLO:
        {
          Hello h = (Hello) f;
          out.writeInt(MAGIC);
          out.writeShort(h.minVersion());
          out.writeShort(h.maxVersion());
          out.writeLong(h.features());
          writeStr(out, h.clientName());
          writeNbytes(out, h.authToken());
          return;
        }
      case WELCOME:
        {
          Welcome w = (Welcome) f;
          out.writeShort(w.version());
          out.writeLong(w.features());
          writeStr(out, w.serverId());
          out.writeInt(w.maxFrameBytes());
          out.writeInt(w.maxPendingRequests());
          out.writeLong(w.maxPendingBytes());
          out.writeInt(w.pingIntervalMs());
          return;
        }
      case PING:
        out.writeLong(((Ping) f).token());
        return;
      case PONG:
        out.writeLong(((Pong) f).token());
        return;
      case GOODBYE:
        {
          Goodbye g = (Goodbye) f;
          out.writeShort(g.code());
          writeStr(out, g.reason());
          return;
        }
      case ERROR:
        {
          ErrorFrame e = (ErrorFrame) f;
          out.writeInt(e.requestId());
          out.writeByte(e.fatal() ? ERROR_FATAL : 0);
          out.writeShort(e.code());
          writeStr(out, e.message());
          return;
        }
      case OK:
        out.writeInt(((Ok) f).requestId());
        return;
      case AUTH_CHALLENGE:
        writeBytes(out, ((AuthChallenge) f).data());
        return;
      case AUTH_RESPONSE:
        writeBytes(out, ((AuthResponse) f).data());
        return;
      case PUBLISH:
        writePublish(out, (Publish) f);
        return;
      case PUBLISH_BATCH:
        {
          List<Publish> ps = ((PublishBatch) f).publishes();
          writeCount(out, ps.size());
          for (Publish p : ps) {
            writePublish(out, p);
          }
          return;
        }
      case PUB_ACK:
        writePubAck(out, (PubAck) f);
        return;
      case PUB_ACK_BATCH:
        {
          List<PubAck> as = ((PubAckBatch) f).acks();
          writeCount(out, as.size());
          for (PubAck a : as) {
            writePubAck(out, a);
          }
          return;
        }
      case SUBSCRIBE:
        {
          Subscribe s = (Subscribe) f;
          out.writeInt(s.requestId());
          out.writeInt(s.sid());
          writeStr(out, s.pattern());
          writeNstr(out, s.queueGroup());
          return;
        }
      case UNSUBSCRIBE:
        {
          Unsubscribe u = (Unsubscribe) f;
          out.writeInt(u.sid());
          out.writeInt(u.maxMessages());
          return;
        }
      case MESSAGE:
        {
          LiveMessage m = (LiveMessage) f;
          out.writeInt(m.sid());
          writeTail(
              out, m.timestampMs(), m.subject(), m.replyTo(), m.headers(), m.key(), m.payload());
          return;
        }
      case DROPPED:
        {
          Dropped d = (Dropped) f;
          out.writeInt(d.sid());
          out.writeLong(d.totalDropped());
          return;
        }
      case REQUEST:
        {
          Request r = (Request) f;
          out.writeInt(r.requestId());
          out.writeInt(r.timeoutMs());
          writeStr(out, r.subject());
          writeHeaders(out, r.headers());
          writeBytes(out, r.payload());
          return;
        }
      case REPLY:
        {
          Reply r = (Reply) f;
          out.writeInt(r.requestId());
          writeHeaders(out, r.headers());
          writeBytes(out, r.payload());
          return;
        }
      case FETCH:
        {
          Fetch x = (Fetch) f;
          out.writeInt(x.requestId());
          out.writeInt(x.maxMessages());
          out.writeInt(x.maxWaitMs());
          writeStr(out, x.stream());
          writeStr(out, x.consumer());
          writeNstr(out, x.member());
          return;
        }
      case DELIVERIES:
        {
          Deliveries d = (Deliveries) f;
          out.writeInt(d.requestId());
          writeCount(out, d.deliveries().size());
          for (DeliveryEntry e : d.deliveries()) {
            writeDelivery(out, e);
          }
          return;
        }
      case CONSUME:
        {
          Consume c = (Consume) f;
          out.writeInt(c.requestId());
          out.writeInt(c.sid());
          out.writeInt(c.credits());
          writeStr(out, c.stream());
          writeStr(out, c.consumer());
          writeNstr(out, c.member());
          return;
        }
      case CREDIT:
        {
          Credit c = (Credit) f;
          out.writeInt(c.sid());
          out.writeInt(c.credits());
          return;
        }
      case DELIVERY:
        {
          DeliveryPush d = (DeliveryPush) f;
          out.writeInt(d.sid());
          writeDelivery(out, d.delivery());
          return;
        }
      case ACKS:
        {
          Acks a = (Acks) f;
          out.writeInt(a.requestId());
          out.writeByte(a.confirm() ? ACKS_CONFIRM : 0);
          writeStr(out, a.stream());
          writeStr(out, a.consumer());
          writeCount(out, a.entries().size());
          for (AckEntry e : a.entries()) {
            out.writeByte(e.kind().code());
            out.writeInt(e.partition());
            out.writeLong(e.offset());
            out.writeInt(e.deliveryCount());
            if (e.kind() == AckEntry.Kind.NACK) {
              out.writeLong(e.delayMs());
              writeNstr(out, e.error());
            }
          }
          return;
        }
      case ACKED:
        {
          Acked a = (Acked) f;
          out.writeInt(a.requestId());
          writeCount(out, a.applied().size());
          for (boolean applied : a.applied()) {
            out.writeByte(applied ? 1 : 0);
          }
          return;
        }
      case READ:
        {
          Read r = (Read) f;
          out.writeInt(r.requestId());
          out.writeInt(r.partition());
          out.writeLong(r.fromOffset());
          out.writeInt(r.maxBytes());
          out.writeInt(r.maxMessages());
          writeStr(out, r.stream());
          return;
        }
      case READ_SUBJECT:
        {
          ReadSubject r = (ReadSubject) f;
          out.writeInt(r.requestId());
          out.writeLong(r.fromOffset());
          out.writeInt(r.maxMessages());
          writeStr(out, r.stream());
          writeStr(out, r.subject());
          return;
        }
      case LAST:
        {
          Last l = (Last) f;
          out.writeInt(l.requestId());
          writeStr(out, l.stream());
          writeStr(out, l.subject());
          return;
        }
      case MESSAGES:
        {
          Messages m = (Messages) f;
          out.writeInt(m.requestId());
          out.writeLong(m.nextOffset());
          writeCount(out, m.messages().size());
          for (StoredEntry s : m.messages()) {
            out.writeInt(s.partition());
            out.writeLong(s.offset());
            writeTail(
                out, s.timestampMs(), s.subject(), s.replyTo(), s.headers(), s.key(), s.payload());
          }
          return;
        }
      case ADMIN:
        {
          Admin a = (Admin) f;
          out.writeInt(a.requestId());
          out.writeByte(a.op().code());
          writeBytes(out, a.body());
          return;
        }
      case ADMIN_REPLY:
        {
          AdminReply a = (AdminReply) f;
          out.writeInt(a.requestId());
          writeBytes(out, a.body());
          return;
        }
      default:
        throw new IllegalStateException("no layout for " + f.type());
    }
  }

  // ---- shared layouts

  /** [P-6.1] */
  private static long publishSize(Publish p) {
    long n = 1 + 4;
    if (p.expectedStream() != null) {
      n += str(p.expectedStream());
    }
    if (p.messageId() != null) {
      n += str(p.messageId());
    }
    if (p.expectedLastSubjectOffset() != Publish.NO_EXPECTATION) {
      n += 8;
    }
    if (p.producer() != null) {
      n += 8 + 2 + 4;
    }
    if (p.timestampMs() != 0) {
      n += 8;
    }
    return n
        + str(p.subject())
        + nstr(p.replyTo())
        + headers(p.headers())
        + nbytes(p.key())
        + bytes(p.payload());
  }

  private static void writePublish(ByteBuf out, Publish p) {
    int options = p.noAck() ? PUB_NO_ACK : 0;
    if (p.expectedStream() != null) {
      options |= PUB_EXPECTED_STREAM;
    }
    if (p.messageId() != null) {
      options |= PUB_MESSAGE_ID;
    }
    if (p.expectedLastSubjectOffset() != Publish.NO_EXPECTATION) {
      options |= PUB_EXPECTED_LAST_OFFSET;
    }
    if (p.producer() != null) {
      options |= PUB_PRODUCER;
    }
    if (p.timestampMs() != 0) {
      options |= PUB_TIMESTAMP;
    }
    out.writeByte(options);
    out.writeInt(p.requestId());
    if (p.expectedStream() != null) {
      writeStr(out, p.expectedStream());
    }
    if (p.messageId() != null) {
      writeStr(out, p.messageId());
    }
    if (p.expectedLastSubjectOffset() != Publish.NO_EXPECTATION) {
      out.writeLong(p.expectedLastSubjectOffset());
    }
    if (p.producer() != null) {
      out.writeLong(p.producer().producerId());
      out.writeShort(p.producer().epoch());
      out.writeInt(p.producer().sequence());
    }
    if (p.timestampMs() != 0) {
      out.writeLong(p.timestampMs());
    }
    writeStr(out, p.subject());
    writeNstr(out, p.replyTo());
    writeHeaders(out, p.headers());
    writeNbytes(out, p.key());
    writeBytes(out, p.payload());
  }

  /** [P-6.3] */
  private static long pubAckSize(PubAck a) {
    return 4 + 1 + 1 + nstr(a.stream()) + 4 + 8 + (a.delayed() ? 8 : 0);
  }

  private static void writePubAck(ByteBuf out, PubAck a) {
    out.writeInt(a.requestId());
    out.writeByte((a.duplicate() ? ACK_DUPLICATE : 0) | (a.delayed() ? ACK_DELAYED : 0));
    out.writeByte(a.durability().ordinal());
    writeNstr(out, a.stream());
    out.writeInt(a.partition());
    out.writeLong(a.offset());
    if (a.delayed()) {
      out.writeLong(a.deliverAtMs());
    }
  }

  /** [P-8.2] */
  private static long deliverySize(DeliveryEntry d) {
    return 4 + 8 + 4 + tailSize(d.subject(), d.replyTo(), d.headers(), d.key(), d.payload());
  }

  private static void writeDelivery(ByteBuf out, DeliveryEntry d) {
    out.writeInt(d.partition());
    out.writeLong(d.offset());
    out.writeInt(d.deliveryCount());
    writeTail(out, d.timestampMs(), d.subject(), d.replyTo(), d.headers(), d.key(), d.payload());
  }

  /** The message tail shared by MESSAGE, deliveries and stored entries [P-1.6]. */
  private static long tailSize(
      String subject, String replyTo, List<Header> headers, byte[] key, byte[] payload) {
    return 8 + str(subject) + nstr(replyTo) + headers(headers) + nbytes(key) + bytes(payload);
  }

  private static void writeTail(
      ByteBuf out,
      long timestampMs,
      String subject,
      String replyTo,
      List<Header> headers,
      byte[] key,
      byte[] payload) {
    out.writeLong(timestampMs);
    writeStr(out, subject);
    writeNstr(out, replyTo);
    writeHeaders(out, headers);
    writeNbytes(out, key);
    writeBytes(out, payload);
  }

  // ---- primitives [P-1.3] to [P-1.5]

  private static long str(String s) {
    return 2 + ByteBufUtil.utf8Bytes(s);
  }

  private static long nstr(String s) {
    return s == null ? 2 : str(s);
  }

  private static long bytes(byte[] b) {
    return 4 + b.length;
  }

  private static long nbytes(byte[] b) {
    return b == null ? 4 : 4 + b.length;
  }

  private static long headers(List<Header> hs) {
    long n = 2;
    for (Header h : hs) {
      n += str(h.key()) + nbytes(h.value());
    }
    return n;
  }

  private static void writeCount(ByteBuf out, int count) {
    if (count > MAX_COUNT) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, count + " entries; a frame carries at most " + MAX_COUNT);
    }
    out.writeShort(count);
  }

  private static void writeStr(ByteBuf out, String s) {
    int len = ByteBufUtil.utf8Bytes(s);
    if (len > MAX_STRING_BYTES) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "a string of " + len + " UTF-8 bytes; the format carries at most " + MAX_STRING_BYTES);
    }
    out.writeShort(len);
    // Reserve exactly len bytes: the buffer was sized exactly, so it must never grow.
    ByteBufUtil.reserveAndWriteUtf8(out, s, len);
  }

  private static void writeNstr(ByteBuf out, String s) {
    if (s == null) {
      out.writeShort(NULL_STRING);
    } else {
      writeStr(out, s);
    }
  }

  private static void writeBytes(ByteBuf out, byte[] b) {
    out.writeInt(b.length);
    out.writeBytes(b);
  }

  private static void writeNbytes(ByteBuf out, byte[] b) {
    if (b == null) {
      out.writeInt(NULL_BYTES);
    } else {
      writeBytes(out, b);
    }
  }

  private static void writeHeaders(ByteBuf out, List<Header> hs) {
    writeCount(out, hs.size());
    for (Header h : hs) {
      writeStr(out, h.key());
      writeNbytes(out, h.value());
    }
  }
}
