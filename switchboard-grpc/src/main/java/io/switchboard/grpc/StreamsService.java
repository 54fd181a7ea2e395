package io.switchboard.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PartitionBounds;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.TailRead;
import io.switchboard.core.ErrorCode;
import io.switchboard.grpc.v1.ReadRequest;
import io.switchboard.grpc.v1.ReadResponse;
import io.switchboard.grpc.v1.StreamsGrpc;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.StreamReads;
import io.switchboard.spi.trace.Tracing;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code Streams.Read}: one partition from an offset, a time or the end, optionally following.
 * Reads go through the broker's tail reads (off the loop, completing on it), one at a time, and the
 * next is asked for only while the client reads (HTTP/2 readiness): a slow reader holds at most one
 * read's bytes ({@link #READ_BYTES}). Each message sent is charged to the principal's consume rate;
 * past it the reader pauses for the wait (docs/security.md).
 */
final class StreamsService extends StreamsGrpc.StreamsImplBase {
  /** About this many bytes of log per tail read. */
  static final int READ_BYTES = 256 * 1024;

  /** A following reader at the end waits this long per tail read for the next append. */
  static final long FOLLOW_WAIT_MS = 1_000;

  private final Broker broker;

  StreamsService(Broker broker) {
    this.broker = broker;
  }

  @Override
  public void read(ReadRequest request, StreamObserver<ReadResponse> out) {
    ServerCallStreamObserver<ReadResponse> call = (ServerCallStreamObserver<ReadResponse>) out;
    Executor loop = Loops.current();
    String stream = request.getStream();
    int partition = request.getPartition();
    Access access = GrpcAuth.access();
    try {
      access.check(Permission.CONSUME, Permission.consumerTarget(stream, Permission.READ_TOKEN));
      if (request.getMaxMessages() < 0) {
        throw GrpcErrors.of(
            ErrorCode.INVALID_ARGUMENT, "max_messages " + request.getMaxMessages() + " < 0");
      }
      PartitionBounds bounds = broker.partitionBounds(stream, partition);
      CompletableFuture<Long> start =
          switch (request.getFromCase()) {
            case OFFSET -> {
              if (request.getOffset() < 0) {
                throw GrpcErrors.of(
                    ErrorCode.INVALID_ARGUMENT, "offset " + request.getOffset() + " < 0");
              }
              yield CompletableFuture.completedFuture(request.getOffset());
            }
            case END -> CompletableFuture.completedFuture(bounds.highWatermark());
            case TIME_MS ->
                broker.offload(
                    () -> {
                      long o = broker.offsetForTimestamp(stream, partition, request.getTimeMs());
                      return o < 0 ? broker.partitionBounds(stream, partition).highWatermark() : o;
                    },
                    loop);
            case FROM_NOT_SET -> CompletableFuture.completedFuture(bounds.logStartOffset());
          };
      // gRPC takes the handlers only while this method runs, not once the start is known.
      Reader reader = new Reader(call, loop, request, access);
      call.setOnReadyHandler(reader::next);
      call.setOnCancelHandler(() -> reader.done = true);
      start.whenComplete(
          (offset, error) -> {
            if (error != null) {
              reader.done = true;
              call.onError(GrpcErrors.toStatus(error));
            } else {
              reader.start(offset);
            }
          });
    } catch (RuntimeException e) {
      call.onError(GrpcErrors.toStatus(e));
    }
  }

  /** One Read call's loop of tail reads, on the connection's event loop. */
  private final class Reader {
    private final ServerCallStreamObserver<ReadResponse> call;
    private final Executor loop;
    private final ReadRequest request;
    private final Access access;
    private final Tracing tracing = GrpcTrace.tracing(); // built in the call
    private long position = -1;
    private long sent;
    private boolean reading;
    private boolean paused; // past the consume rate: nothing read or sent until the wait ends
    private boolean caughtUp;
    boolean done;

    Reader(
        ServerCallStreamObserver<ReadResponse> call,
        Executor loop,
        ReadRequest request,
        Access access) {
      this.call = call;
      this.loop = loop;
      this.request = request;
      this.access = access;
    }

    void start(long from) {
      position = from;
      next();
    }

    void next() {
      if (position < 0 || done || reading || paused || call.isCancelled() || !call.isReady()) {
        return; // onReady calls again once the client reads
      }
      reading = true;
      long waitMs = caughtUp && request.getFollow() ? FOLLOW_WAIT_MS : 0;
      broker
          .tail(request.getStream(), request.getPartition(), position, READ_BYTES, waitMs, loop)
          .whenComplete(this::got);
    }

    private void got(TailRead read, Throwable error) {
      reading = false;
      if (done || call.isCancelled()) {
        return;
      }
      if (error != null) {
        done = true;
        call.onError(GrpcErrors.toStatus(error));
        return;
      }
      long limit = request.getMaxMessages();
      Decision whole;
      try {
        whole = StreamReads.stream(access, broker, request.getStream()); // rules may change
      } catch (RuntimeException e) {
        done = true;
        call.onError(GrpcErrors.toStatus(e));
        return;
      }
      for (StoredMessage m : read.messages()) {
        if (m.offset() < position) {
          continue;
        }
        if (!StreamReads.readable(access, whole, m.message().subject())) {
          position = m.offset() + 1; // skipped: the reader may not subscribe to its subject
          continue;
        }
        call.onNext(
            ReadResponse.newBuilder()
                .setMessage(
                    Protos.stored(
                        m.stream(),
                        m.partition(),
                        m.offset(),
                        tracing.deliver(GrpcTrace.PROTOCOL, m.message(), null)))
                .build());
        position = m.offset() + 1;
        if (limit > 0 && ++sent >= limit) {
          finish();
          return;
        }
        long wait = access.quota().consume(m.message().payload().length);
        if (wait > 0) {
          // Past the principal's consume rate: the rest of this read is read again after the
          // wait (from position), so the client is slowed, not sent a burst.
          paused = true;
          GrpcQuota.later(
              loop,
              wait,
              () -> {
                paused = false;
                next();
              });
          return;
        }
      }
      position = Math.max(position, read.nextOffset());
      long end;
      try {
        end = broker.partitionBounds(request.getStream(), request.getPartition()).highWatermark();
      } catch (RuntimeException e) {
        done = true;
        call.onError(GrpcErrors.toStatus(e));
        return;
      }
      if (!caughtUp && position >= end) {
        caughtUp = true;
        call.onNext(
            ReadResponse.newBuilder()
                .setCaughtUp(ReadResponse.CaughtUp.newBuilder().setNextOffset(position))
                .build());
        if (!request.getFollow()) {
          finish();
          return;
        }
      }
      // Continue on a fresh task, so a long catch-up does not grow the stack.
      loop.execute(this::next);
    }

    private void finish() {
      done = true;
      call.onCompleted();
    }
  }
}
