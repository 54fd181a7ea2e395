package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.grpc.GrpcApiTest.Collector;
import io.switchboard.grpc.v1.AdminGrpc;
import io.switchboard.grpc.v1.AppendRequest;
import io.switchboard.grpc.v1.ConsumeRequest;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.grpc.v1.EventStoreGrpc;
import io.switchboard.grpc.v1.ListStreamsRequest;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublishStreamAck;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.ReadRequest;
import io.switchboard.grpc.v1.ReadResponse;
import io.switchboard.grpc.v1.ReadSubjectRequest;
import io.switchboard.grpc.v1.RequestMessage;
import io.switchboard.grpc.v1.RequestsGrpc;
import io.switchboard.grpc.v1.StreamsGrpc;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas on gRPC (docs/security.md): connections per principal and subscriptions are counted and
 * refused past the quota ({@code RESOURCE_EXHAUSTED} with our code), unary calls ({@code Publish},
 * {@code Request}, {@code Append}, {@code Admin}, the one-shot {@code ReadSubject}) are refused
 * while their rate is in debt ({@code QUOTA_RATE}, as HTTP's 429), and streams ({@code
 * PublishStream}, {@code Consume}, {@code Read}) are slowed rather than refused.
 */
class GrpcQuotaTest {
  @TempDir Path dir;
  SwitchboardServer server;
  final List<ManagedChannel> channels = new ArrayList<>();

  ManagedChannel start(Map<String, String> quota) throws Exception {
    Map<String, String> flags = new HashMap<>(quota);
    flags.put(ConfigCatalogue.DATA_DIR.name(), dir.toString());
    server = SwitchboardServer.startOnFreePorts(flags);
    return channel();
  }

  ManagedChannel channel() {
    ManagedChannel c = GrpcApiTest.connect(server);
    channels.add(c);
    return c;
  }

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  static String reason(Throwable t) throws Exception {
    assertThat(t).isInstanceOf(StatusRuntimeException.class);
    assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    return StatusProto.fromThrowable(t).getDetails(0).unpack(ErrorInfo.class).getReason();
  }

  static PublishRequest publish(String subject) {
    return PublishRequest.newBuilder().setMessage(msg(subject, "x")).build();
  }

  @Test
  void aSecondConnectionOfAPrincipalPastItsQuotaIsRefusedUntilTheFirstCloses() throws Exception {
    ManagedChannel first = start(Map.of("quota.connections", "1"));
    PublisherGrpc.newBlockingStub(first).publish(publish("a.1"));
    ManagedChannel second = channel();
    // More calls on the first connection are not further connections.
    PublisherGrpc.newBlockingStub(first).publish(publish("a.2"));
    Throwable refused =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> PublisherGrpc.newBlockingStub(second).publish(publish("a.3")));
    assertThat(reason(refused)).isEqualTo("QUOTA_CONNECTIONS");

    first.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    await()
        .untilAsserted(
            () -> PublisherGrpc.newBlockingStub(second).publish(publish("a.4"))); // room again
  }

  @Test
  void aSubscriptionPastTheConsumerQuotaIsRefusedAndItsPlaceComesBackWhenOneEnds()
      throws Exception {
    ManagedChannel c = start(Map.of("quota.consumers", "1"));
    SubscriberGrpc.SubscriberStub sub = SubscriberGrpc.newStub(c);
    Collector<SubscribeResponse> first = new Collector<>();
    ClientCallStreamObserver<?>[] firstCall = new ClientCallStreamObserver<?>[1];
    sub.subscribe(
        SubscribeRequest.newBuilder().setPattern("s.>").build(),
        new io.grpc.stub.ClientResponseObserver<SubscribeRequest, SubscribeResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<SubscribeRequest> call) {
            firstCall[0] = call;
          }

          @Override
          public void onNext(SubscribeResponse value) {
            first.onNext(value);
          }

          @Override
          public void onError(Throwable t) {
            first.onError(t);
          }

          @Override
          public void onCompleted() {
            first.onCompleted();
          }
        });
    await().until(() -> server.broker().live().subscriptionCount() == 1);
    Collector<SubscribeResponse> second = new Collector<>();
    sub.subscribe(SubscribeRequest.newBuilder().setPattern("s.>").build(), second);
    Throwable refused = second.done.handle((v, e) -> e).get(10, TimeUnit.SECONDS);
    assertThat(reason(refused)).isEqualTo("QUOTA_CONSUMERS");

    firstCall[0].cancel("done", null);
    await().until(() -> server.broker().live().subscriptionCount() == 0);
    Collector<SubscribeResponse> third = new Collector<>();
    sub.subscribe(SubscribeRequest.newBuilder().setPattern("s.>").build(), third);
    await().until(() -> server.broker().live().subscriptionCount() == 1);
    assertThat(third.done).isNotDone();
  }

  @Test
  void unaryPublishesAndRequestsAreRefusedWithQuotaRateWhileTheBucketIsInDebt() throws Exception {
    ManagedChannel c = start(Map.of("quota.publish-messages", "1", "quota.requests", "1"));
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(c);
    // One second's worth (1) plus the charge that takes the bucket into debt pass; then refused.
    pub.publish(publish("r.1"));
    pub.publish(publish("r.2"));
    Throwable refused =
        org.assertj.core.api.Assertions.catchThrowable(() -> pub.publish(publish("r.3")));
    assertThat(reason(refused)).isEqualTo("QUOTA_RATE");

    RequestsGrpc.RequestsBlockingStub req = RequestsGrpc.newBlockingStub(c);
    RequestMessage r = RequestMessage.newBuilder().setMessage(msg("svc.none", "?")).build();
    // No responder: the first two fail with NO_RESPONDERS (charged), the third on the rate.
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> req.request(r))
          .satisfies(
              e ->
                  assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }
    assertThat(reason(org.assertj.core.api.Assertions.catchThrowable(() -> req.request(r))))
        .isEqualTo("QUOTA_RATE");
  }

  @Test
  void appendsAndAdminCallsAreRefusedWithQuotaRateWhileTheirBucketIsInDebt() throws Exception {
    ManagedChannel c = start(Map.of("quota.publish-messages", "1", "quota.requests", "1"));
    EventStoreGrpc.EventStoreBlockingStub store = EventStoreGrpc.newBlockingStub(c);
    // Append is a publish: one second's worth (1) plus the charge into debt pass, then refused.
    AppendRequest append = AppendRequest.newBuilder().setMessage(msg("es.1", "e")).build();
    store.append(append);
    store.append(append);
    assertThat(reason(org.assertj.core.api.Assertions.catchThrowable(() -> store.append(append))))
        .isEqualTo("QUOTA_RATE");
    // Every admin call is a request (as every HTTP request is): the same, on the request rate.
    AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(c);
    admin.listStreams(ListStreamsRequest.getDefaultInstance());
    admin.listStreams(ListStreamsRequest.getDefaultInstance());
    assertThat(
            reason(
                org.assertj.core.api.Assertions.catchThrowable(
                    () -> admin.listStreams(ListStreamsRequest.getDefaultInstance()))))
        .isEqualTo("QUOTA_RATE");
    // The bucket refills: admitted again after about a second.
    await()
        .ignoreExceptions()
        .untilAsserted(() -> admin.listStreams(ListStreamsRequest.getDefaultInstance()));
  }

  /** Three stored messages of 10 bytes on {@code jobs.j}. */
  void threeJobs(ManagedChannel c) {
    server.broker().createStream(StreamConfig.builder("jobs", "jobs.>").build());
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(c);
    for (int i = 0; i < 3; i++) {
      pub.publish(PublishRequest.newBuilder().setMessage(msg("jobs.j", "0123456789")).build());
    }
  }

  @Test
  void aReadPastTheConsumeRateIsSlowedNotRefused() throws Exception {
    ManagedChannel c = start(Map.of("quota.consume-bytes", "10"));
    threeJobs(c);
    java.util.Iterator<ReadResponse> read =
        StreamsGrpc.newBlockingStub(c)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .read(ReadRequest.newBuilder().setStream("jobs").setOffset(0).build());
    // 10 bytes/s: the first empties the bucket, the second takes it 1 s into debt.
    assertThat(read.next().getMessage().getPosition().getOffset()).isEqualTo(0);
    assertThat(read.next().getMessage().getPosition().getOffset()).isEqualTo(1);
    long t0 = System.nanoTime();
    assertThat(read.next().getMessage().getPosition().getOffset()).isEqualTo(2);
    assertThat(TimeNanos.since(t0)).as("the third waits for the rate").isGreaterThanOrEqualTo(700);
    assertThat(read.next().hasCaughtUp()).isTrue();
  }

  @Test
  void aReadSubjectWhileTheConsumeRateIsInDebtIsRefused() throws Exception {
    ManagedChannel c = start(Map.of("quota.consume-bytes", "10"));
    threeJobs(c);
    EventStoreGrpc.EventStoreBlockingStub store = EventStoreGrpc.newBlockingStub(c);
    ReadSubjectRequest r =
        ReadSubjectRequest.newBuilder().setStream("jobs").setSubject("jobs.j").build();
    // 30 bytes read at 10 bytes/s: answered in full, and charged.
    java.util.List<io.switchboard.grpc.v1.StoredMessage> events = new ArrayList<>();
    store.readSubject(r).forEachRemaining(events::add);
    assertThat(events).hasSize(3);
    // Now in debt: the next one-shot read is refused, as a unary call.
    assertThat(
            reason(
                org.assertj.core.api.Assertions.catchThrowable(
                    () -> store.readSubject(r).forEachRemaining(e -> {}))))
        .isEqualTo("QUOTA_RATE");
  }

  /** Milliseconds since a {@link System#nanoTime()} reading. */
  static final class TimeNanos {
    static long since(long t0) {
      return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }
  }

  @Test
  void aPublishStreamPastThePublishRateIsSlowedNotRefused() throws Exception {
    ManagedChannel c = start(Map.of("quota.publish-messages", "4", "grpc.max-in-flight", "1"));
    Collector<PublishStreamAck> acks = new Collector<>();
    StreamObserver<PublishRequest> out = PublisherGrpc.newStub(c).publishStream(acks);
    long t0 = System.nanoTime();
    int n = 12; // 4 from the full bucket, 8 more at 4/s: about 2 s
    for (int i = 0; i < n; i++) {
      out.onNext(PublishRequest.newBuilder().setSequence(i).setMessage(msg("p." + i, "x")).build());
    }
    out.onCompleted();
    acks.done.get(30, TimeUnit.SECONDS);
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(acks.items).hasSize(n).allSatisfy(a -> assertThat(a.hasAck()).isTrue());
    assertThat(ms).as("slowed by the rate").isGreaterThanOrEqualTo(1_500);
  }

  @Test
  void aConsumeStreamPastTheConsumeRateSendsNoDeliveryForTheWait() throws Exception {
    ManagedChannel c = start(Map.of("quota.consume-bytes", "10"));
    server.broker().createStream(StreamConfig.builder("jobs", "jobs.>").build());
    server
        .broker()
        .createConsumer(
            "jobs",
            ConsumerConfig.builder("workers")
                .mode(DeliveryMode.SHARED)
                .ackPolicy(AckPolicy.EACH)
                .ackTimeoutMs(60_000)
                .build());
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(c);
    for (int i = 0; i < 3; i++) {
      pub.publish(PublishRequest.newBuilder().setMessage(msg("jobs.j", "0123456789")).build());
    }
    Collector<ConsumeResponse> in = new Collector<>();
    StreamObserver<ConsumeRequest> out = SubscriberGrpc.newStub(c).consume(in);
    out.onNext(
        ConsumeRequest.newBuilder()
            .setOpen(
                ConsumeRequest.Open.newBuilder()
                    .setStream("jobs")
                    .setConsumer("workers")
                    .setCredit(10))
            .build());
    assertThat(in.next().hasOpened()).isTrue();
    // 10 bytes/s: the first empties the bucket, the second takes it 1 s into debt.
    in.next();
    in.next();
    long t0 = System.nanoTime();
    assertThat(in.next().hasDelivery()).isTrue();
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
        .as("the third waits for the rate")
        .isGreaterThanOrEqualTo(700);
    out.onCompleted();
  }
}
