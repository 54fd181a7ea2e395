package io.switchboard.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.grpc.v1.ReadResponse;
import io.switchboard.grpc.v1.ServeResponse;
import io.switchboard.grpc.v1.StoredMessage;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.spi.ProtocolMeters;

/**
 * The gRPC front end's meters under the names every front end shares ({@link ProtocolMeters},
 * protocol {@code grpc}, seen at {@code /metrics}): every call that ends, by method and status, and
 * messages out by kind ({@code subscribe}, {@code consume}, {@code read}, {@code serve}, {@code
 * reply}) with their payload bytes. Messages in are counted where the broker accepts them ({@link
 * PublisherService}, {@link EventStoreService}), connections by {@link GrpcConnection.Filter}. An
 * interceptor on every service; counting is an adder increment. Thread-safe.
 */
final class GrpcMeters implements ServerInterceptor {
  static final String PROTOCOL = "grpc";

  private final ProtocolMeters meters;
  private final ProtocolMeters.Delivery subscribe;
  private final ProtocolMeters.Delivery consume;
  private final ProtocolMeters.Delivery read;
  private final ProtocolMeters.Delivery serve;
  private final ProtocolMeters.Delivery reply;

  GrpcMeters(ProtocolMeters meters) {
    this.meters = meters;
    subscribe = meters.delivery("subscribe");
    consume = meters.delivery("consume");
    read = meters.delivery("read");
    serve = meters.delivery("serve");
    reply = meters.delivery("reply");
  }

  ProtocolMeters meters() {
    return meters;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    boolean request = method.equals("switchboard.v1.Requests/Request");
    // Counted once: closed by the server, or cancelled (by the client, or past its deadline).
    java.util.concurrent.atomic.AtomicBoolean ended =
        new java.util.concurrent.atomic.AtomicBoolean();
    ServerCall<Q, R> counted =
        new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void sendMessage(R message) {
            out(message, request);
            super.sendMessage(message);
          }

          @Override
          public void close(Status status, Metadata trailers) {
            if (ended.compareAndSet(false, true)) {
              meters.call(method, status.getCode().name());
            }
            super.close(status, trailers);
          }
        };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(counted, headers)) {
      @Override
      public void onCancel() {
        if (ended.compareAndSet(false, true)) {
          meters.call(method, Status.Code.CANCELLED.name());
        }
        super.onCancel();
      }
    };
  }

  /** A message delivered to the client. */
  private void out(Object message, boolean request) {
    switch (message) {
      case SubscribeResponse r when r.hasMessage() ->
          subscribe.delivered(r.getMessage().getPayload().size());
      case ConsumeResponse r when r.hasDelivery() ->
          consume.delivered(r.getDelivery().getMessage().getMessage().getPayload().size());
      case ReadResponse r when r.hasMessage() ->
          read.delivered(r.getMessage().getMessage().getPayload().size());
      case StoredMessage m -> read.delivered(m.getMessage().getPayload().size());
      case ServeResponse r -> serve.delivered(r.getRequest().getPayload().size());
      case io.switchboard.grpc.v1.Message m when request -> reply.delivered(m.getPayload().size());
      default -> {}
    }
  }
}
