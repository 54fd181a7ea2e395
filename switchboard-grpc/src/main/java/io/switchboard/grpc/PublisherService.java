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
    publish(request, GrpcAuth.access(), loop, -1)
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

  private CompletableFuture<io.switchboard.broker.stream.PublishAck> publish(
      PublishRequest request, Access access, Executor loop, long sequence) {
    try {
      Message m = Protos.toCore(request.getMessage(), clock.nowMs());
      access.check(Permission.PUBLISH, m.subject());
      String messageId = request.getMessageId();
      if (messageId.isEmpty() && !request.getProducerId().isEmpty() && sequence >= 0) {
        messageId = request.getProducerId() + ":" + sequence;
      }
      PublishOptions options =
          new PublishOptions(
              request.getExpectedStream().isEmpty() ? null : request.getExpectedStream(),
              messageId.isEmpty() ? null : messageId);
      return broker.publish(m, options, loop);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
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
    return new StreamObserver<>() {
      int inFlight;
      boolean halfClosed;
      boolean done;

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
        publish(request, access, loop, seq)
            .whenComplete(
                (ack, error) -> {
                  inFlight--;
                  if (done) {
                    return;
                  }
                  PublishStreamAck.Builder b = PublishStreamAck.newBuilder().setSequence(seq);
                  if (error != null) {
                    b.setError(GrpcErrors.itemError(error));
                  } else {
                    b.setAck(Protos.ack(ack));
                  }
                  call.onNext(b.build());
                  if (halfClosed && inFlight == 0) {
                    done = true;
                    call.onCompleted();
                  } else {
                    call.request(1);
                  }
                });
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
    };
  }
}
