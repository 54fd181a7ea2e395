package io.switchboard.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.grpc.v1.PublishAck;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublishStreamAck;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.trace.Tracing;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code Publisher}: unary and pipelined publishing. Every call runs on its connection's event
 * loop; the broker's futures complete there.
 */
final class PublisherService extends PublisherGrpc.PublisherImplBase {
  private final Broker broker;
  private final Clock clock;
  private final GrpcSettings settings;

  PublisherService(Broker broker, Clock clock, GrpcSettings settings) {
    this.broker = broker;
    this.clock = clock;
    this.settings = settings;
  }

  @Override
  public void publish(PublishRequest request, StreamObserver<PublishAck> out) {
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    try {
      GrpcQuota.admitPublish(access, request.getMessage().getPayload().size());
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    publish(request, access, loop, -1)
        .whenComplete(
            (ack, error) -> {
              if (error != null) {
                out.onError(GrpcErrors.toStatus(error));
              } else {
                out.onNext(Protos.ack(ack));
                out.onCompleted();
              }
            });
  }

  /** Completes on {@code loop}, or where storage completes it when {@code loop} is null. */
  private CompletableFuture<io.switchboard.broker.stream.PublishAck> publish(
      PublishRequest request, Access access, Executor loop, long sequence) {
    try {
      Message m =
          GrpcTrace.withTrace(
              Protos.toCore(request.getMessage(), clock.nowMs()), GrpcTrace.headers());
      access.check(Permission.PUBLISH, m.subject());
      String messageId = request.getMessageId();
      if (messageId.isEmpty() && !request.getProducerId().isEmpty() && sequence >= 0) {
        messageId = request.getProducerId() + ":" + sequence;
      }
      PublishOptions options =
          new PublishOptions(
              request.getExpectedStream().isEmpty() ? null : request.getExpectedStream(),
              messageId.isEmpty() ? null : messageId);
      return traced(m, options, loop);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The broker's publish, in a publish span when tracing is on (as every front end). */
  private CompletableFuture<io.switchboard.broker.stream.PublishAck> traced(
      Message m, PublishOptions options, Executor loop) {
    Tracing.Op span = GrpcTrace.tracing().publish(GrpcTrace.PROTOCOL, m);
    Message sent = span == null ? m : span.message();
    CompletableFuture<io.switchboard.broker.stream.PublishAck> ack =
        loop == null ? broker.publish(sent, options) : broker.publish(sent, options, loop);
    return span == null ? ack : span.stored(ack);
  }

  @Override
  public StreamObserver<PublishRequest> publishStream(StreamObserver<PublishStreamAck> out) {
    ServerCallStreamObserver<PublishStreamAck> call =
        (ServerCallStreamObserver<PublishStreamAck>) out;
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    // Inbound flow control by hand: at most maxInFlight publishes wait for storage; past it the
    // stream is not read (HTTP/2 window fills, the client's sends wait) until answers go out.
    call.disableAutoRequest();
    call.request(settings.maxInFlight());
    return new PublishStreamObserver(call, access, loop);
  }

  /**
   * One {@code PublishStream}: publishes as its messages arrive (up to {@code maxInFlight} waiting
   * for storage), and answers them in batches. A storage ack lands on the partition's runner or the
   * log's flusher; it is queued there, and one task on the call's event loop writes every answer
   * queued by then (grpc-java flushes them together) and asks the transport for as many messages as
   * it answered — one loop task, one flush and one {@code request(n)} per batch rather than per
   * message. The queue holds at most {@code maxInFlight} answers (one per publish in flight).
   */
  private final class PublishStreamObserver implements StreamObserver<PublishRequest> {
    private final ServerCallStreamObserver<PublishStreamAck> call;
    private final Access access;
    private final Executor loop;
    private final java.util.concurrent.ConcurrentLinkedQueue<PublishStreamAck> answered =
        new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicBoolean drainScheduled =
        new java.util.concurrent.atomic.AtomicBoolean();
    private final GrpcQuota.Throttle throttle;
    // Loop only:
    private int inFlight;
    private boolean halfClosed;
    private boolean done;

    PublishStreamObserver(
        ServerCallStreamObserver<PublishStreamAck> call, Access access, Executor loop) {
      this.call = call;
      this.access = access;
      this.loop = loop;
      this.throttle = new GrpcQuota.Throttle(call, loop);
    }

    @Override
    public void onNext(PublishRequest request) {
      if (done) {
        return;
      }
      long seq = request.getSequence();
      if (seq < 0) {
        fail(GrpcErrors.of(ErrorCode.INVALID_ARGUMENT, "sequence " + seq + " must be >= 0"));
        return;
      }
      inFlight++;
      throttle.pause(access.quota().publish(1, request.getMessage().getPayload().size()));
      publish(request, access, null, seq)
          .whenComplete(
              (ack, error) -> {
                PublishStreamAck.Builder b = PublishStreamAck.newBuilder().setSequence(seq);
                if (error != null) {
                  b.setError(GrpcErrors.itemError(error));
                } else {
                  b.setAck(Protos.ack(ack));
                }
                answered.add(b.build());
                if (drainScheduled.compareAndSet(false, true)) {
                  loop.execute(this::drain);
                }
              });
    }

    /** On the loop: writes every answer queued so far and reads as many more publishes. */
    private void drain() {
      drainScheduled.set(false);
      int n = 0;
      PublishStreamAck a;
      while ((a = answered.poll()) != null) {
        n++;
        if (!done) {
          call.onNext(a);
        }
      }
      inFlight -= n;
      if (done || n == 0) {
        return;
      }
      if (halfClosed && inFlight == 0) {
        done = true;
        call.onCompleted();
      } else {
        throttle.request(n); // after a pause when past a publish rate
      }
    }

    @Override
    public void onError(Throwable t) {
      done = true; // cancelled by the client: pending acks have nowhere to go
    }

    @Override
    public void onCompleted() {
      halfClosed = true;
      if (inFlight == 0 && !done) {
        done = true;
        call.onCompleted();
      }
    }

    private void fail(RuntimeException e) {
      done = true;
      call.onError(e);
    }
  }
}
