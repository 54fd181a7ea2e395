package io.switchboard.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.QuotaMeter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Quota rates on gRPC (docs/security.md). Unary calls are answered one at a time, like HTTP
 * requests: while the principal's bucket is in debt they are refused ({@code RESOURCE_EXHAUSTED},
 * {@code QUOTA_RATE}), else charged — {@code Publish} and {@code Append} to the publish rates,
 * {@code Request} and every {@code Admin} call to the request rate, {@code ReadSubject} (a bounded
 * one-shot read) to the consume rate. Streams are slowed: a charge's wait stops them requesting (or
 * sending) more for that long — {@code PublishStream} on the publish rates, {@code Consume} and
 * {@code Read} on the consume rate.
 */
final class GrpcQuota {
  private GrpcQuota() {}

  /** A unary publish: refused while a publish rate is in debt, else charged. */
  static void admitPublish(Access access, int payloadBytes) {
    access.checkRate(QuotaMeter.Rate.PUBLISH_MESSAGES);
    access.checkRate(QuotaMeter.Rate.PUBLISH_BYTES);
    access.quota().publish(1, payloadBytes);
  }

  /** A unary request: refused while the request rate is in debt, else charged. */
  static void admitRequest(Access access) {
    access.checkRate(QuotaMeter.Rate.REQUESTS);
    access.quota().request();
  }

  /**
   * A one-shot read ({@code ReadSubject}): refused while the consume rate is in debt; the caller
   * charges what it then sends.
   */
  static void admitRead(Access access) {
    access.checkRate(QuotaMeter.Rate.CONSUME_BYTES);
  }

  /**
   * Charges every call of a service to its principal's request rate, and refuses it ({@code
   * RESOURCE_EXHAUSTED}, {@code QUOTA_RATE}) while that rate is in debt: the admin service, whose
   * calls are all unary (as HTTP charges every request). Runs inside {@link GrpcAuth}, which puts
   * the call's access in its context.
   */
  static final io.grpc.ServerInterceptor REQUESTS =
      new io.grpc.ServerInterceptor() {
        @Override
        public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
            io.grpc.ServerCall<Q, R> call,
            io.grpc.Metadata headers,
            io.grpc.ServerCallHandler<Q, R> next) {
          try {
            admitRequest(GrpcAuth.access());
          } catch (RuntimeException e) {
            io.grpc.StatusRuntimeException s = GrpcErrors.toStatus(e);
            call.close(
                s.getStatus(), s.getTrailers() != null ? s.getTrailers() : new io.grpc.Metadata());
            return new io.grpc.ServerCall.Listener<>() {};
          }
          return next.startCall(call, headers);
        }
      };

  /** Runs {@code task} on {@code loop} after {@code ms} milliseconds. */
  static void later(Executor loop, long ms, Runnable task) {
    if (loop instanceof ScheduledExecutorService s) {
      s.schedule(task, ms, TimeUnit.MILLISECONDS);
    } else {
      CompletableFuture.delayedExecutor(ms, TimeUnit.MILLISECONDS, loop).execute(task);
    }
  }

  /**
   * Inbound flow control of a stream under a rate: while paused, messages the stream would request
   * are owed, and requested when the pause ends. A pause is not extended while it runs (as native).
   * Confined to the call's event loop.
   */
  static final class Throttle {
    private final ServerCallStreamObserver<?> call;
    private final Executor loop;
    private long owed;
    private boolean paused;

    Throttle(ServerCallStreamObserver<?> call, Executor loop) {
      this.call = call;
      this.loop = loop;
    }

    /** Stops requesting for {@code ms} milliseconds (0: no pause). */
    void pause(long ms) {
      if (ms <= 0 || paused) {
        return;
      }
      paused = true;
      later(loop, ms, this::resume);
    }

    /** Requests {@code n} more messages, now or when the pause ends. */
    void request(int n) {
      if (paused) {
        owed += n;
      } else {
        call.request(n);
      }
    }

    private void resume() {
      paused = false;
      if (owed > 0 && !call.isCancelled()) {
        int n = (int) Math.min(Integer.MAX_VALUE, owed);
        owed = 0;
        call.request(n);
      }
    }
  }
}
