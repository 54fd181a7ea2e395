package io.switchboard.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.core.Message;
import io.switchboard.grpc.v1.ConsumeRequest;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.trace.Tracing;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/** {@code Subscriber}: live subscriptions and durable consumers. */
final class SubscriberService extends SubscriberGrpc.SubscriberImplBase {
  private final Broker broker;
  private final GrpcSettings settings;

  SubscriberService(Broker broker, GrpcSettings settings) {
    this.broker = broker;
    this.settings = settings;
  }

  @Override
  public void subscribe(SubscribeRequest request, StreamObserver<SubscribeResponse> out) {
    ServerCallStreamObserver<SubscribeResponse> call =
        (ServerCallStreamObserver<SubscribeResponse>) out;
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    String pattern = request.getPattern();
    LiveSubscription sub;
    LiveSender sender = new LiveSender(call, settings.maxPending(), access);
    try {
      Decision d = access.decide(Permission.SUBSCRIBE, pattern);
      if (d == Decision.DENY) {
        throw access.denied(Permission.SUBSCRIBE, pattern);
      }
      sender.filter = d == Decision.FILTER;
      String group = request.getQueueGroup().isEmpty() ? null : request.getQueueGroup();
      access.openConsumer();
      try {
        sub = broker.live().subscribe(pattern, group, sender, loop);
      } catch (RuntimeException e) {
        access.closeConsumer();
        throw e;
      }
    } catch (RuntimeException e) {
      call.onError(GrpcErrors.toStatus(e));
      return;
    }
    call.setOnCancelHandler(
        () -> {
          sub.close();
          access.closeConsumer();
        });
    call.setOnReadyHandler(sender::drain);
  }

  /**
   * Sends a live subscription's messages as HTTP/2 flow control allows; while the client does not
   * read, up to {@code maxPending} wait, and past that messages are dropped (live delivery is at
   * most once) and the client is told how many in a {@code dropped} event.
   */
  private static final class LiveSender implements LiveSink {
    private final ServerCallStreamObserver<SubscribeResponse> call;
    private final int maxPending;
    private final Access access;
    private final Tracing tracing = GrpcTrace.tracing(); // built in the call
    private final ArrayDeque<SubscribeResponse> pending = new ArrayDeque<>();
    private long dropped;
    private long busDropped;
    private boolean droppedUntold;
    boolean filter;

    LiveSender(ServerCallStreamObserver<SubscribeResponse> call, int maxPending, Access access) {
      this.call = call;
      this.maxPending = maxPending;
      this.access = access;
    }

    @Override
    public void onMessage(Message m) {
      if (call.isCancelled()) {
        return;
      }
      if (filter && !access.allows(Permission.SUBSCRIBE, m.subject())) {
        return;
      }
      access.quota().consume(m.payload().length); // counted; live messages are not slowed
      SubscribeResponse r =
          SubscribeResponse.newBuilder()
              .setMessage(Protos.toProto(tracing.deliver(GrpcTrace.PROTOCOL, m, null)))
              .build();
      if (pending.isEmpty() && call.isReady()) {
        call.onNext(r);
      } else if (pending.size() < maxPending) {
        pending.add(r);
      } else {
        dropped++;
        droppedUntold = true;
      }
    }

    @Override
    public void onDropped(long totalDropped) {
      // Dropped by the bus before reaching us (its running total): counted with ours.
      busDropped = totalDropped;
      droppedUntold = true;
      drain();
    }

    void drain() {
      if (call.isCancelled()) {
        return;
      }
      while (call.isReady() && (droppedUntold || !pending.isEmpty())) {
        if (droppedUntold) {
          droppedUntold = false;
          call.onNext(SubscribeResponse.newBuilder().setDropped(dropped + busDropped).build());
        } else {
          call.onNext(pending.poll());
        }
      }
    }
  }

  @Override
  public StreamObserver<ConsumeRequest> consume(StreamObserver<ConsumeResponse> out) {
    return new ConsumeSession(broker, settings, (ServerCallStreamObserver<ConsumeResponse>) out);
  }
}
