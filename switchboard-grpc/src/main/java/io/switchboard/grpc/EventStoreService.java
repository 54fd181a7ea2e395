package io.switchboard.grpc;

import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredMessage;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.grpc.v1.AppendRequest;
import io.switchboard.grpc.v1.AppendResponse;
import io.switchboard.grpc.v1.EventStoreGrpc;
import io.switchboard.grpc.v1.ReadSubjectRequest;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code EventStore}: appends with an expected revision (after EventStoreDB's {@code
 * expected_stream_revision}: any, no stream, stream exists, an exact revision) answered with a
 * typed result, and reading one subject's events in order.
 */
final class EventStoreService extends EventStoreGrpc.EventStoreImplBase {
  /** Events one ReadSubject call returns when it names no max, and the most it may name. */
  static final int DEFAULT_READ = 1000;

  static final int MAX_READ = 10_000;

  private static final Pattern CONFLICT_CURRENT = Pattern.compile("is at offset (-?\\d+), not");

  private final Broker broker;
  private final Clock clock;
  private final ProtocolMeters meters;

  EventStoreService(Broker broker, Clock clock, ProtocolMeters meters) {
    this.broker = broker;
    this.clock = clock;
    this.meters = meters;
  }

  @Override
  public void append(AppendRequest request, StreamObserver<AppendResponse> out) {
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    CompletableFuture<AppendResponse> result;
    try {
      Message m = Protos.toCore(request.getMessage(), clock.nowMs());
      access.check(Permission.PUBLISH, m.subject());
      GrpcQuota.admitPublish(access, request.getMessage().getPayload().size());
      String stream = request.getStream().isEmpty() ? null : request.getStream();
      result =
          switch (request.getExpectedRevisionCase()) {
            case ANY, EXPECTEDREVISION_NOT_SET ->
                append(m, stream, PublishOptions.NO_EXPECTATION, loop);
            case NO_STREAM -> append(m, stream, PublishOptions.NO_OFFSET, loop);
            case REVISION -> {
              if (request.getRevision() < 0) {
                throw GrpcErrors.of(
                    ErrorCode.INVALID_ARGUMENT,
                    "revision " + request.getRevision() + " < 0; use no_stream for none");
              }
              yield append(m, stream, request.getRevision(), loop);
            }
            case STREAM_EXISTS -> {
              if (stream == null) {
                throw GrpcErrors.of(
                    ErrorCode.INVALID_ARGUMENT, "stream_exists needs the stream field");
              }
              // The subject's last event, then an append expecting exactly it: a race with another
              // append is a conflict, as for an exact revision.
              yield broker
                  .offload(() -> broker.lastMessage(stream, m.subject()), loop)
                  .thenCompose(
                      (Optional<StoredMessage> last) ->
                          last.isEmpty()
                              ? CompletableFuture.completedFuture(wrong(-1))
                              : append(m, stream, last.get().offset(), loop));
            }
          };
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    result.whenComplete(
        (r, error) -> {
          if (error != null) {
            out.onError(GrpcErrors.toStatus(error));
          } else {
            if (r.hasSuccess()) {
              meters.published(request.getMessage().getPayload().size());
            }
            out.onNext(r);
            out.onCompleted();
          }
        });
  }

  private CompletableFuture<AppendResponse> append(
      Message m, String stream, long expected, Executor loop) {
    return broker
        .publish(m, new PublishOptions(stream, null, expected, null), loop)
        .handle(
            (ack, error) -> {
              if (error == null) {
                return AppendResponse.newBuilder().setSuccess(Protos.ack(ack)).build();
              }
              SwitchboardException e = GrpcErrors.unwrap(error);
              if (e.code() == ErrorCode.PUBLISH_CONFLICT) {
                Matcher c = CONFLICT_CURRENT.matcher(e.detail());
                return wrong(c.find() ? Long.parseLong(c.group(1)) : -1);
              }
              throw e;
            });
  }

  private static AppendResponse wrong(long current) {
    return AppendResponse.newBuilder()
        .setWrongExpectedRevision(
            AppendResponse.WrongExpectedRevision.newBuilder().setCurrentRevision(current))
        .build();
  }

  @Override
  public void readSubject(
      ReadSubjectRequest request, StreamObserver<io.switchboard.grpc.v1.StoredMessage> out) {
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    String stream = request.getStream();
    try {
      access.check(Permission.CONSUME, Permission.consumerTarget(stream, Permission.READ_TOKEN));
      GrpcQuota.admitRead(access);
      access.check(Permission.SUBSCRIBE, request.getSubject());
      int max = request.getMax() == 0 ? DEFAULT_READ : request.getMax();
      if (max < 0 || max > MAX_READ) {
        throw GrpcErrors.of(
            ErrorCode.INVALID_ARGUMENT, "max " + max + " not in [0, " + MAX_READ + "]");
      }
      broker
          .offload(
              () ->
                  broker.readSubject(
                      stream, request.getSubject(), Math.max(0, request.getFromOffset()), max),
              loop)
          .whenComplete(
              (List<StoredMessage> events, Throwable error) -> {
                if (error != null) {
                  out.onError(GrpcErrors.toStatus(error));
                  return;
                }
                for (StoredMessage e : events) {
                  access.quota().consume(e.message().payload().length);
                  out.onNext(Protos.stored(e.stream(), e.partition(), e.offset(), e.message()));
                }
                out.onCompleted();
              });
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
    }
  }
}
