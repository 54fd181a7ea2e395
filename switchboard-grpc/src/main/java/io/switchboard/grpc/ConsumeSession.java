package io.switchboard.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import io.switchboard.core.ErrorCode;
import io.switchboard.grpc.v1.ConsumeRequest;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.ConsumerGrant;
import io.switchboard.spi.trace.Tracing;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executor;

/**
 * One {@code Consume} stream: a member of a durable consumer, fed by the broker's push delivery
 * within the client's credit. Confined to the connection's event loop: the push handler (on the
 * consumer's runner) only hands deliveries over to it.
 *
 * <p>Bounds: the broker pushes at most the granted credit unsettled (at most {@code maxCredit}), so
 * the deliveries waiting for HTTP/2 flow control and the outstanding map are bounded by it too.
 */
final class ConsumeSession implements StreamObserver<ConsumeRequest> {
  private final Broker broker;
  private final GrpcSettings settings;
  private final ServerCallStreamObserver<ConsumeResponse> call;
  private final Executor loop;
  private final Access access;
  private final Tracing tracing = GrpcTrace.tracing();

  private PushSubscription sub;
  private String stream;
  private String consumer;
  private ConsumerGrant grant; // taken at open, again for each batch when the rules moved
  private String member;
  private long credit;
  private boolean done;
  private boolean paused;

  /** Deliveries sent (or waiting to be) and not settled yet, by delivery id. */
  private final HashMap<String, Delivery> outstanding = new HashMap<>();

  /** Deliveries waiting for the client to read (HTTP/2 flow control). */
  private final ArrayDeque<Delivery> waiting = new ArrayDeque<>();

  ConsumeSession(
      Broker broker, GrpcSettings settings, ServerCallStreamObserver<ConsumeResponse> call) {
    this.broker = broker;
    this.settings = settings;
    this.call = call;
    this.loop = Loops.current();
    this.access = GrpcAuth.access();
    call.setOnReadyHandler(this::drain);
    call.setOnCancelHandler(this::end);
  }

  static String deliveryId(Delivery d) {
    return d.partition() + ":" + d.offset() + ":" + d.deliveryCount();
  }

  @Override
  public void onNext(ConsumeRequest r) {
    if (done) {
      return;
    }
    try {
      if (sub == null) {
        if (r.getRequestCase() != ConsumeRequest.RequestCase.OPEN) {
          throw GrpcErrors.of(
              ErrorCode.GRPC_STREAM_NOT_OPEN, "Consume", "open", name(r.getRequestCase()));
        }
        open(r.getOpen());
        return;
      }
      switch (r.getRequestCase()) {
        case OPEN -> throw GrpcErrors.of(ErrorCode.GRPC_STREAM_ALREADY_OPEN, "Consume", "open");
        case ACK -> {
          for (Delivery d : take(r.getAck().getDeliveryIdsList())) {
            sub.ack(d);
          }
        }
        case NACK -> {
          ConsumeRequest.Nack n = r.getNack();
          for (Delivery d : take(n.getDeliveryIdsList())) {
            sub.nack(d, n.getDelayMs() < 0 ? -1 : n.getDelayMs(), n.getReason());
          }
        }
        case IN_PROGRESS -> {
          for (String id : r.getInProgress().getDeliveryIdsList()) {
            Delivery d = known(id);
            broker.inProgress(stream, consumer, d.partition(), d.offset(), d.deliveryCount());
          }
        }
        case CREDIT -> {
          int n = r.getCredit();
          if (n < 1 || credit + n > settings.maxCredit()) {
            throw GrpcErrors.of(ErrorCode.GRPC_INVALID_CREDIT, n, settings.maxCredit() - credit);
          }
          credit += n;
          sub.grant(n);
        }
        case REQUEST_NOT_SET ->
            throw GrpcErrors.of(ErrorCode.INVALID_ARGUMENT, "a ConsumeRequest must set one field");
      }
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  private static String name(ConsumeRequest.RequestCase c) {
    return c.name().toLowerCase(java.util.Locale.ROOT);
  }

  private void open(ConsumeRequest.Open open) {
    int n = open.getCredit();
    if (n < 1 || n > settings.maxCredit()) {
      throw GrpcErrors.of(ErrorCode.GRPC_INVALID_CREDIT, n, settings.maxCredit());
    }
    stream = open.getStream();
    consumer = open.getConsumer();
    // What a consumer delivers cannot be skipped: all of it must be readable.
    grant = new ConsumerGrant(access, broker, stream, consumer);
    member = open.getMember().isEmpty() ? "grpc-" + UUID.randomUUID() : open.getMember();
    credit = n;
    access.openConsumer(); // given back in end()
    try {
      sub =
          broker.pushBatches(
              stream, consumer, member, n, batch -> loop.execute(() -> delivered(batch)));
    } catch (RuntimeException e) {
      access.closeConsumer();
      throw e;
    }
    call.onNext(
        ConsumeResponse.newBuilder()
            .setOpened(ConsumeResponse.Opened.newBuilder().setMember(member))
            .build());
  }

  /** The event loop: deliveries pushed by the consumer. */
  private void delivered(List<Delivery> batch) {
    RuntimeException revoked = done ? null : grant.revoked();
    if (done || revoked != null) {
      for (Delivery d : batch) {
        sub.nack(d, 0, revoked == null ? "the Consume stream ended" : "access revoked");
      }
      if (revoked != null) {
        fail(revoked); // the rules changed since open: the stream ends, nothing more goes out
      }
      return;
    }
    for (Delivery d : batch) {
      outstanding.put(deliveryId(d), d);
      waiting.add(d);
    }
    drain();
  }

  private void drain() {
    while (!done && !paused && !waiting.isEmpty() && call.isReady()) {
      Delivery d = waiting.poll();
      pauseFor(access.quota().consume(d.message().payload().length));
      call.onNext(
          ConsumeResponse.newBuilder()
              .setDelivery(
                  io.switchboard.grpc.v1.Delivery.newBuilder()
                      .setDeliveryId(deliveryId(d))
                      .setMessage(delivered(d))
                      .setDeliveryCount(d.deliveryCount()))
              .build());
    }
  }

  /** The delivery as sent, in a deliver span when tracing is on (OFF: as stored). */
  private io.switchboard.grpc.v1.StoredMessage delivered(Delivery d) {
    return Protos.stored(
        d.stream(),
        d.partition(),
        d.offset(),
        tracing.deliver(GrpcTrace.PROTOCOL, d.message(), consumer));
  }

  /** Past the consume rate: no delivery goes out for {@code ms} (the pause is not extended). */
  private void pauseFor(long ms) {
    if (ms > 0 && !paused) {
      paused = true;
      GrpcQuota.later(
          loop,
          ms,
          () -> {
            paused = false;
            drain();
          });
    }
  }

  private Delivery known(String id) {
    Delivery d = outstanding.get(id);
    if (d == null) {
      throw GrpcErrors.of(ErrorCode.GRPC_UNKNOWN_DELIVERY, id);
    }
    return d;
  }

  /** Removes settled deliveries; all ids must be known, or nothing is settled. */
  private List<Delivery> take(List<String> ids) {
    for (String id : ids) {
      known(id);
    }
    return ids.stream().map(outstanding::remove).toList();
  }

  private void fail(RuntimeException e) {
    if (done) {
      return;
    }
    end();
    call.onError(GrpcErrors.toStatus(e));
  }

  /** Stops delivery; what the member still holds is given back at once (not after a timeout). */
  private void end() {
    if (done) {
      return;
    }
    done = true;
    waiting.clear();
    outstanding.clear();
    if (sub != null) {
      sub.close();
      broker.leave(stream, consumer, member);
      access.closeConsumer();
    }
  }

  @Override
  public void onError(Throwable t) {
    end();
  }

  @Override
  public void onCompleted() {
    if (!done) {
      end();
      call.onCompleted();
    }
  }
}
