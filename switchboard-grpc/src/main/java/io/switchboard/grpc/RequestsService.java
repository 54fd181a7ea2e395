package io.switchboard.grpc;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.grpc.v1.RequestMessage;
import io.switchboard.grpc.v1.RequestsGrpc;
import io.switchboard.grpc.v1.ServeRequest;
import io.switchboard.grpc.v1.ServeResponse;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.trace.Tracing;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/** {@code Requests}: request/reply over subjects, and responders on a stream. */
final class RequestsService extends RequestsGrpc.RequestsImplBase {
  private final Broker broker;
  private final Clock clock;
  private final GrpcSettings settings;

  RequestsService(Broker broker, Clock clock, GrpcSettings settings) {
    this.broker = broker;
    this.clock = clock;
    this.settings = settings;
  }

  @Override
  public void request(RequestMessage request, StreamObserver<io.switchboard.grpc.v1.Message> out) {
    Executor loop = Loops.current();
    try {
      Message m =
          GrpcTrace.withTrace(
              Protos.toCore(request.getMessage(), clock.nowMs()), GrpcTrace.headers());
      GrpcAuth.access().check(Permission.REQUEST, m.subject());
      GrpcQuota.admitRequest(GrpcAuth.access());
      long timeoutMs =
          request.getTimeoutMs() > 0 ? request.getTimeoutMs() : settings.requestTimeoutMs();
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null) {
        // A call past its deadline stops its work: the wait ends with the deadline.
        timeoutMs = Math.max(1, Math.min(timeoutMs, deadline.timeRemaining(TimeUnit.MILLISECONDS)));
      }
      traced(m, Duration.ofMillis(timeoutMs))
          .whenCompleteAsync(
              (reply, error) -> {
                ServerCallStreamObserver<?> call = (ServerCallStreamObserver<?>) out;
                if (call.isCancelled()) {
                  return;
                }
                if (error != null) {
                  out.onError(GrpcErrors.toStatus(error));
                } else {
                  out.onNext(Protos.toProto(reply));
                  out.onCompleted();
                }
              },
              loop);
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
    }
  }

  /** The broker's request, in a request span when tracing is on (as every front end). */
  private CompletableFuture<Message> traced(Message m, Duration timeout) {
    Tracing.Op span = GrpcTrace.tracing().request(GrpcTrace.PROTOCOL, m);
    return span == null
        ? broker.live().request(m, timeout)
        : span.replied(broker.live().request(span.message(), timeout));
  }

  @Override
  public StreamObserver<ServeRequest> serve(StreamObserver<ServeResponse> out) {
    return new Responder((ServerCallStreamObserver<ServeResponse>) out);
  }

  /**
   * One {@code Serve} stream: a live subscription whose messages are requests; each is sent with an
   * id and waits (at most {@code maxInFlight} at once; past that a request is not taken and its
   * requester times out) for the client's reply. On the connection's event loop.
   */
  private final class Responder implements StreamObserver<ServeRequest>, LiveSink {
    private final ServerCallStreamObserver<ServeResponse> call;
    private final Executor loop = Loops.current();
    private final Access access = GrpcAuth.access();
    private final Tracing tracing = GrpcTrace.tracing();
    private final List<Header> trace = GrpcTrace.headers(); // the Serve call's metadata
    private final LinkedHashMap<String, Message> waiting = new LinkedHashMap<>();
    private LiveSubscription sub;
    private long nextId;
    private boolean done;

    Responder(ServerCallStreamObserver<ServeResponse> call) {
      this.call = call;
      call.setOnCancelHandler(this::end);
    }

    @Override
    public void onNext(ServeRequest r) {
      if (done) {
        return;
      }
      try {
        if (sub == null) {
          if (r.getRequestCase() != ServeRequest.RequestCase.SERVE) {
            throw GrpcErrors.of(
                ErrorCode.GRPC_STREAM_NOT_OPEN,
                "Serve",
                "serve",
                r.getRequestCase().name().toLowerCase(java.util.Locale.ROOT));
          }
          String pattern = r.getServe().getPattern();
          access.check(Permission.SUBSCRIBE, pattern);
          access.openConsumer(); // given back in end()
          String group = r.getServe().getQueueGroup();
          try {
            sub = broker.live().subscribe(pattern, group.isEmpty() ? null : group, this, loop);
          } catch (RuntimeException e) {
            access.closeConsumer();
            throw e;
          }
          return;
        }
        if (r.getRequestCase() != ServeRequest.RequestCase.REPLY) {
          throw GrpcErrors.of(ErrorCode.GRPC_STREAM_ALREADY_OPEN, "Serve", "serve");
        }
        ServeRequest.Reply reply = r.getReply();
        Message request = waiting.remove(reply.getRequestId());
        if (request == null) {
          throw GrpcErrors.of(ErrorCode.GRPC_UNKNOWN_REQUEST, reply.getRequestId());
        }
        access.check(Permission.REPLY, request.replyTo());
        List<Header> headers = new ArrayList<>();
        for (io.switchboard.grpc.v1.Header h : reply.getHeadersList()) {
          headers.add(new Header(h.getName(), h.getValue().toByteArray()));
        }
        byte[] correlation = request.header(Message.CORRELATION_ID);
        if (correlation != null) {
          headers.add(new Header(Message.CORRELATION_ID, correlation));
        }
        // Through Broker.publish, as every publish: a stream or binding may capture replies too.
        publishReply(
            new Message(
                request.replyTo(),
                null,
                headers,
                reply.getPayload().toByteArray(),
                clock.nowMs(),
                null),
            request);
      } catch (RuntimeException e) {
        end();
        call.onError(GrpcErrors.toStatus(e));
      }
    }

    /**
     * A reply in a reply span when tracing is on. Without a {@code traceparent} of its own it
     * continues the request's trace (the context the request was delivered with), else the one in
     * the Serve call's metadata.
     */
    private void publishReply(Message reply, Message request) {
      access.quota().publish(1, reply.payload().length); // counted; Serve is not slowed
      Message m = GrpcTrace.withTrace(reply, GrpcTrace.traceHeaders(request));
      m = GrpcTrace.withTrace(m, trace);
      Tracing.Op span = tracing.publish(GrpcTrace.PROTOCOL, m);
      if (span == null) {
        broker.publish(m, PublishOptions.NONE, loop);
      } else {
        span.stored(broker.publish(span.message(), PublishOptions.NONE, loop));
      }
    }

    @Override
    public void onMessage(Message m) {
      if (done || m.replyTo() == null || waiting.size() >= settings.maxInFlight()) {
        return; // not a request, or too many unanswered: its requester times out
      }
      m = tracing.deliver(GrpcTrace.PROTOCOL, m, null); // OFF: m itself
      String id = Long.toString(++nextId);
      waiting.put(id, m);
      // Requests are small and bounded by maxInFlight; sent even when the client reads slowly.
      call.onNext(
          ServeResponse.newBuilder().setRequestId(id).setRequest(Protos.toProto(m)).build());
    }

    private void end() {
      done = true;
      waiting.clear();
      if (sub != null) {
        sub.close();
        sub = null;
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
}
