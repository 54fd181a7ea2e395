package io.switchboard.grpc;

import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.consumer.StartPosition;
import io.switchboard.broker.stream.Retention;
import io.switchboard.grpc.v1.AdminGrpc;
import io.switchboard.grpc.v1.ConsumerConfig;
import io.switchboard.grpc.v1.ConsumerName;
import io.switchboard.grpc.v1.CreateConsumerRequest;
import io.switchboard.grpc.v1.Deleted;
import io.switchboard.grpc.v1.ListConsumersResponse;
import io.switchboard.grpc.v1.ListStreamsRequest;
import io.switchboard.grpc.v1.ListStreamsResponse;
import io.switchboard.grpc.v1.PartitionInfo;
import io.switchboard.grpc.v1.StreamConfig;
import io.switchboard.grpc.v1.StreamInfo;
import io.switchboard.grpc.v1.StreamName;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * {@code Admin}: streams and consumers. Every call may touch disk or take the broker's monitor, so
 * each runs through {@code Broker.offload} and answers on the connection's loop; each is decided at
 * the decision point with the {@link Permission#ADMIN} targets every front end uses.
 */
final class AdminService extends AdminGrpc.AdminImplBase {
  private final Broker broker;

  AdminService(Broker broker) {
    this.broker = broker;
  }

  private <T> void run(String target, Supplier<T> call, StreamObserver<T> out) {
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    try {
      access.check(Permission.ADMIN, target);
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    broker
        .offload(call, loop)
        .whenComplete(
            (r, error) -> {
              if (error != null) {
                out.onError(GrpcErrors.toStatus(error));
              } else {
                out.onNext(r);
                out.onCompleted();
              }
            });
  }

  @Override
  public void createStream(StreamConfig request, StreamObserver<StreamInfo> out) {
    run(request.getName(), () -> info(broker.createStream(toCore(request))), out);
  }

  @Override
  public void updateStream(StreamConfig request, StreamObserver<StreamInfo> out) {
    run(request.getName(), () -> info(broker.updateStream(toCore(request))), out);
  }

  @Override
  public void deleteStream(StreamName request, StreamObserver<Deleted> out) {
    run(
        request.getName(),
        () -> {
          broker.deleteStream(request.getName());
          return Deleted.getDefaultInstance();
        },
        out);
  }

  @Override
  public void getStream(StreamName request, StreamObserver<StreamInfo> out) {
    run(request.getName(), () -> info(broker.streamInfo(request.getName())), out);
  }

  @Override
  public void listStreams(ListStreamsRequest request, StreamObserver<ListStreamsResponse> out) {
    run(
        Permission.STREAMS_TARGET,
        () -> {
          ListStreamsResponse.Builder b = ListStreamsResponse.newBuilder();
          broker.listStreams().forEach(s -> b.addStreams(info(s)));
          return b.build();
        },
        out);
  }

  @Override
  public void createConsumer(
      CreateConsumerRequest request, StreamObserver<io.switchboard.grpc.v1.ConsumerInfo> out) {
    run(
        Permission.consumerTarget(request.getStream(), request.getConfig().getName()),
        () -> info(broker.createConsumer(request.getStream(), toCore(request.getConfig()))),
        out);
  }

  @Override
  public void deleteConsumer(ConsumerName request, StreamObserver<Deleted> out) {
    run(
        Permission.consumerTarget(request.getStream(), request.getConsumer()),
        () -> {
          broker.deleteConsumer(request.getStream(), request.getConsumer());
          return Deleted.getDefaultInstance();
        },
        out);
  }

  @Override
  public void getConsumer(
      ConsumerName request, StreamObserver<io.switchboard.grpc.v1.ConsumerInfo> out) {
    run(
        Permission.consumerTarget(request.getStream(), request.getConsumer()),
        () -> info(broker.consumerInfo(request.getStream(), request.getConsumer())),
        out);
  }

  @Override
  public void listConsumers(StreamName request, StreamObserver<ListConsumersResponse> out) {
    run(
        Permission.consumerTarget(request.getName(), Permission.CONSUMERS_TOKEN),
        () -> {
          ListConsumersResponse.Builder b = ListConsumersResponse.newBuilder();
          broker.listConsumers(request.getName()).forEach(c -> b.addConsumers(info(c)));
          return b.build();
        },
        out);
  }

  static io.switchboard.broker.stream.StreamConfig toCore(StreamConfig c) {
    io.switchboard.broker.stream.StreamConfig.Builder b =
        io.switchboard.broker.stream.StreamConfig.builder(
                c.getName(), c.getSubjectsList().toArray(String[]::new))
            .partitions(c.getPartitions() == 0 ? 1 : c.getPartitions())
            .retention(
                switch (c.getRetention()) {
                  case RETENTION_WORK_QUEUE -> Retention.WORK_QUEUE;
                  case RETENTION_COMPACTED -> Retention.COMPACTED;
                  default -> Retention.LIMITS;
                })
            // 0 (unset) is "no limit", the core's -1.
            .maxAgeMs(limit(c.getMaxAgeMs()))
            .maxBytes(limit(c.getMaxBytes()))
            .maxMessages(limit(c.getMaxMessages()))
            .maxMessagesPerSubject(limit(c.getMaxMessagesPerSubject()));
    if (c.getMaxMessageBytes() > 0) {
      b.maxMessageBytes(c.getMaxMessageBytes());
    }
    return b.build();
  }

  private static long limit(long v) {
    return v == 0 ? -1 : v;
  }

  private static long unlimit(long v) {
    return v < 0 ? 0 : v;
  }

  static StreamInfo info(io.switchboard.broker.stream.StreamInfo s) {
    io.switchboard.broker.stream.StreamConfig c = s.config();
    StreamInfo.Builder b =
        StreamInfo.newBuilder()
            .setConfig(
                StreamConfig.newBuilder()
                    .setName(c.name())
                    .addAllSubjects(c.subjects())
                    .setPartitions(c.partitions())
                    .setRetention(
                        switch (c.retention()) {
                          case LIMITS -> io.switchboard.grpc.v1.Retention.RETENTION_LIMITS;
                          case WORK_QUEUE -> io.switchboard.grpc.v1.Retention.RETENTION_WORK_QUEUE;
                          case COMPACTED -> io.switchboard.grpc.v1.Retention.RETENTION_COMPACTED;
                        })
                    .setMaxAgeMs(unlimit(c.maxAgeMs()))
                    .setMaxBytes(unlimit(c.maxBytes()))
                    .setMaxMessages(unlimit(c.maxMessages()))
                    .setMaxMessagesPerSubject(unlimit(c.maxMessagesPerSubject()))
                    .setMaxMessageBytes(c.maxMessageBytes()));
    for (var p : s.partitions()) {
      b.addPartitions(
          PartitionInfo.newBuilder()
              .setPartition(p.partition())
              .setStartOffset(p.firstOffset())
              .setEndOffset(p.nextOffset())
              .setBytes(p.bytes()));
    }
    return b.build();
  }

  static io.switchboard.broker.consumer.ConsumerConfig toCore(ConsumerConfig c) {
    io.switchboard.broker.consumer.ConsumerConfig.Builder b =
        io.switchboard.broker.consumer.ConsumerConfig.builder(c.getName())
            .mode(
                switch (c.getMode()) {
                  case DELIVERY_MODE_EXCLUSIVE -> DeliveryMode.EXCLUSIVE;
                  case DELIVERY_MODE_FAILOVER -> DeliveryMode.FAILOVER;
                  case DELIVERY_MODE_KEY_SHARED -> DeliveryMode.KEY_SHARED;
                  default -> DeliveryMode.SHARED;
                })
            .startAt(
                switch (c.getStart()) {
                  case START_POSITION_LATEST -> StartPosition.LATEST;
                  case START_POSITION_OFFSET -> StartPosition.OFFSET;
                  case START_POSITION_TIME -> StartPosition.TIME;
                  case START_POSITION_LAST_PER_SUBJECT -> StartPosition.LAST_PER_SUBJECT;
                  default -> StartPosition.EARLIEST;
                })
            .startOffset(c.getStartOffset())
            .startTime(c.getStartTimeMs())
            .ackPolicy(
                switch (c.getAckPolicy()) {
                  case ACK_POLICY_NONE -> AckPolicy.NONE;
                  case ACK_POLICY_CUMULATIVE -> AckPolicy.CUMULATIVE;
                  default -> AckPolicy.EACH;
                })
            .maxDeliver(c.getMaxDeliver() == 0 ? -1 : c.getMaxDeliver())
            .backoffMs(c.getBackoffMsList().toArray(Long[]::new));
    if (!c.getFilter().isEmpty()) {
      b.filter(c.getFilter());
    }
    if (c.getAckTimeoutMs() > 0) {
      b.ackTimeoutMs(c.getAckTimeoutMs());
    }
    if (!c.getDeadLetterSubject().isEmpty()) {
      b.deadLetterSubject(c.getDeadLetterSubject());
    }
    if (c.getMaxAckPending() > 0) {
      b.maxAckPending(c.getMaxAckPending());
    }
    return b.build();
  }

  static io.switchboard.grpc.v1.ConsumerInfo info(ConsumerInfo i) {
    io.switchboard.broker.consumer.ConsumerConfig c = i.config();
    ConsumerConfig.Builder b =
        ConsumerConfig.newBuilder()
            .setName(c.name())
            .setMode(
                switch (c.mode()) {
                  case EXCLUSIVE -> io.switchboard.grpc.v1.DeliveryMode.DELIVERY_MODE_EXCLUSIVE;
                  case FAILOVER -> io.switchboard.grpc.v1.DeliveryMode.DELIVERY_MODE_FAILOVER;
                  case KEY_SHARED -> io.switchboard.grpc.v1.DeliveryMode.DELIVERY_MODE_KEY_SHARED;
                  case SHARED, GROUP -> io.switchboard.grpc.v1.DeliveryMode.DELIVERY_MODE_SHARED;
                })
            .setStart(
                io.switchboard.grpc.v1.StartPosition.valueOf("START_POSITION_" + c.start().name()))
            .setStartOffset(c.startOffset())
            .setStartTimeMs(c.startTimeMs())
            .setAckPolicy(io.switchboard.grpc.v1.AckPolicy.valueOf("ACK_POLICY_" + c.ackPolicy()))
            .setAckTimeoutMs(c.ackTimeoutMs())
            .setMaxDeliver(c.maxDeliver())
            .addAllBackoffMs(c.backoffMs())
            .setMaxAckPending(c.maxAckPending());
    if (c.filter() != null) {
      b.setFilter(c.filter());
    }
    if (c.deadLetterSubject() != null) {
      b.setDeadLetterSubject(c.deadLetterSubject());
    }
    return io.switchboard.grpc.v1.ConsumerInfo.newBuilder()
        .setStream(i.stream())
        .setConfig(b)
        .setUnacknowledged(i.unacknowledged())
        .setDeadLettered(i.deadLettered())
        .setPending(i.pending())
        .build();
  }
}
