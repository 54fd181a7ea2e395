package io.switchboard.grpc;

import com.google.protobuf.ByteString;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.stream.Durability;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.grpc.v1.Position;
import io.switchboard.grpc.v1.PublishAck;
import io.switchboard.grpc.v1.StoredMessage;
import java.util.ArrayList;
import java.util.List;

/** Conversions between the API's protobuf messages and the broker's model. Stateless. */
final class Protos {
  private Protos() {}

  /** A published message as the broker's: an unset timestamp (0) is {@code nowMs}. */
  static Message toCore(io.switchboard.grpc.v1.Message m, long nowMs) {
    List<Header> headers;
    if (m.getHeadersCount() == 0) {
      headers = List.of();
    } else {
      headers = new ArrayList<>(m.getHeadersCount());
      for (io.switchboard.grpc.v1.Header h : m.getHeadersList()) {
        headers.add(new Header(h.getName(), h.getValue().toByteArray()));
      }
    }
    return new Message(
        m.getSubject(),
        m.getKey().isEmpty() ? null : m.getKey().toByteArray(),
        headers,
        m.getPayload().toByteArray(),
        m.getTimestampMs() == 0 ? nowMs : m.getTimestampMs(),
        m.getReplyTo().isEmpty() ? null : m.getReplyTo());
  }

  static io.switchboard.grpc.v1.Message toProto(Message m) {
    io.switchboard.grpc.v1.Message.Builder b =
        io.switchboard.grpc.v1.Message.newBuilder()
            .setSubject(m.subject())
            .setPayload(ByteString.copyFrom(m.payload()))
            .setTimestampMs(m.timestampMs());
    if (m.key() != null) {
      b.setKey(ByteString.copyFrom(m.key()));
    }
    for (Header h : m.headers()) {
      b.addHeaders(
          io.switchboard.grpc.v1.Header.newBuilder()
              .setName(h.key())
              .setValue(h.value() == null ? ByteString.EMPTY : ByteString.copyFrom(h.value())));
    }
    if (m.replyTo() != null) {
      b.setReplyTo(m.replyTo());
    }
    return b.build();
  }

  static StoredMessage stored(String stream, int partition, long offset, Message m) {
    return StoredMessage.newBuilder()
        .setMessage(toProto(m))
        .setPosition(
            Position.newBuilder().setStream(stream).setPartition(partition).setOffset(offset))
        .build();
  }

  static StoredMessage stored(Delivery d) {
    return stored(d.stream(), d.partition(), d.offset(), d.message());
  }

  static PublishAck ack(io.switchboard.broker.stream.PublishAck a) {
    PublishAck.Builder b =
        PublishAck.newBuilder()
            .setPartition(a.partition())
            .setOffset(a.offset())
            .setDurability(durability(a.durability()))
            .setDuplicate(a.duplicate())
            .setDeliverAtMs(a.deliverAtMs());
    if (a.stream() != null) {
      b.setStream(a.stream());
    }
    return b.build();
  }

  static io.switchboard.grpc.v1.Durability durability(Durability d) {
    return switch (d) {
      case MEMORY -> io.switchboard.grpc.v1.Durability.DURABILITY_MEMORY;
      case WRITTEN -> io.switchboard.grpc.v1.Durability.DURABILITY_WRITTEN;
      case FSYNCED -> io.switchboard.grpc.v1.Durability.DURABILITY_FSYNCED;
    };
  }
}
