package io.switchboard.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.grpc.v1.ConsumeRequest;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.grpc.v1.Durability;
import io.switchboard.grpc.v1.Message;
import io.switchboard.grpc.v1.PublishAck;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublishStreamAck;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.RequestMessage;
import io.switchboard.grpc.v1.RequestsGrpc;
import io.switchboard.grpc.v1.ServeRequest;
import io.switchboard.grpc.v1.ServeResponse;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * grpc-java's own blocking and async stubs against a whole server on a loopback port: health,
 * reflection, every messaging method, and bad input closing only its own stream.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcApiTest {
  @TempDir Path dir;
  SwitchboardServer server;
  ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "grpc.max-message-bytes",
                "65536"));
    channel = connect(server);
  }

  static ManagedChannel connect(SwitchboardServer server) {
    return NettyChannelBuilder.forAddress("127.0.0.1", server.addresses().get("grpc").getPort())
        .usePlaintext()
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  static Message msg(String subject, String payload) {
    return Message.newBuilder().setSubject(subject).setPayload(utf8(payload)).build();
  }

  static ByteString utf8(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  static ErrorInfo errorInfo(Throwable t) {
    com.google.rpc.Status s = StatusProto.fromThrowable(t);
    assertThat(s).as("status details of " + t).isNotNull();
    for (com.google.protobuf.Any a : s.getDetailsList()) {
      if (a.is(ErrorInfo.class)) {
        try {
          return a.unpack(ErrorInfo.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new AssertionError(e);
        }
      }
    }
    throw new AssertionError("no ErrorInfo in " + s);
  }

  void createStream(String name, String... subjects) throws Exception {
    server.broker().createStream(StreamConfig.builder(name, subjects).build());
  }

  @Test
  void healthCheckAndWatchSayServing() {
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
    assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    assertThat(
            health
                .check(
                    HealthCheckRequest.newBuilder().setService("switchboard.v1.Publisher").build())
                .getStatus())
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    Iterator<HealthCheckResponse> watch =
        health
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .watch(HealthCheckRequest.getDefaultInstance());
    assertThat(watch.next().getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    assertThatThrownBy(
            () ->
                health.check(HealthCheckRequest.newBuilder().setService("no.such.Service").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void reflectionV1ListsTheServices() throws Exception {
    BlockingQueue<ServerReflectionResponse> got = new LinkedBlockingQueue<>();
    StreamObserver<ServerReflectionRequest> req =
        ServerReflectionGrpc.newStub(channel)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse r) {
                    got.add(r);
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    ServerReflectionResponse r = got.poll(10, TimeUnit.SECONDS);
    assertThat(r).isNotNull();
    List<String> names = new ArrayList<>();
    r.getListServicesResponse().getServiceList().forEach(s -> names.add(s.getName()));
    assertThat(names)
        .contains(
            "switchboard.v1.Publisher",
            "switchboard.v1.Subscriber",
            "switchboard.v1.Requests",
            "grpc.health.v1.Health");
    req.onNext(
        ServerReflectionRequest.newBuilder()
            .setFileContainingSymbol("switchboard.v1.Publisher")
            .build());
    ServerReflectionResponse file = got.poll(10, TimeUnit.SECONDS);
    assertThat(file.getFileDescriptorResponse().getFileDescriptorProtoCount()).isPositive();
    req.onCompleted();
  }

  @Test
  void unaryPublishNamesWhereAndHowDurably() throws Exception {
    createStream("orders", "orders.>");
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    PublishAck stored =
        pub.publish(PublishRequest.newBuilder().setMessage(msg("orders.eu.1", "a")).build());
    assertThat(stored.getStream()).isEqualTo("orders");
    assertThat(stored.getOffset()).isZero();
    assertThat(stored.getDurability())
        .isIn(Durability.DURABILITY_WRITTEN, Durability.DURABILITY_FSYNCED);
    PublishAck second =
        pub.publish(PublishRequest.newBuilder().setMessage(msg("orders.eu.2", "b")).build());
    assertThat(second.getOffset()).isEqualTo(1);
    PublishAck live =
        pub.publish(PublishRequest.newBuilder().setMessage(msg("nowhere.x", "c")).build());
    assertThat(live.getDurability()).isEqualTo(Durability.DURABILITY_MEMORY);
    assertThat(live.getStream()).isEmpty();
  }

  @Test
  void invalidSubjectIsInvalidArgumentWithOurCode() {
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    assertThatThrownBy(
            () -> pub.publish(PublishRequest.newBuilder().setMessage(msg("a..b", "x")).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              ErrorInfo info = errorInfo(e);
              assertThat(info.getReason()).isEqualTo("INVALID_SUBJECT");
              assertThat(info.getDomain()).isEqualTo(GrpcErrors.DOMAIN);
              assertThat(info.getMetadataMap()).containsEntry("code", "10");
            });
  }

  @Test
  void oversizedMessageIsResourceExhaustedAndTheChannelStillWorks() {
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    byte[] big = new byte[100_000];
    assertThatThrownBy(
            () ->
                pub.publish(
                    PublishRequest.newBuilder()
                        .setMessage(
                            Message.newBuilder()
                                .setSubject("big.one")
                                .setPayload(ByteString.copyFrom(big)))
                        .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    assertThat(
            pub.publish(PublishRequest.newBuilder().setMessage(msg("small.one", "x")).build())
                .getDurability())
        .isEqualTo(Durability.DURABILITY_MEMORY);
  }

  /** Collects a server stream's responses for a test. */
  static final class Collector<T> implements StreamObserver<T> {
    final BlockingQueue<T> items = new LinkedBlockingQueue<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();

    @Override
    public void onNext(T value) {
      items.add(value);
    }

    @Override
    public void onError(Throwable t) {
      done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      done.complete(null);
    }

    T next() throws InterruptedException {
      T t = items.poll(10, TimeUnit.SECONDS);
      assertThat(t).as("a response within 10 s").isNotNull();
      return t;
    }

    Status.Code failure() {
      Throwable t = done.handle((v, e) -> e).orTimeout(10, TimeUnit.SECONDS).join();
      assertThat(t).as("the stream failed").isNotNull();
      return Status.fromThrowable(t).getCode();
    }
  }

  @Test
  void publishStreamAcksBySequenceAndAResentSequenceIsADuplicate() throws Exception {
    createStream("events", "events.>");
    PublisherGrpc.PublisherStub pub = PublisherGrpc.newStub(channel);
    Collector<PublishStreamAck> acks = new Collector<>();
    StreamObserver<PublishRequest> out = pub.publishStream(acks);
    for (int i = 0; i < 200; i++) {
      out.onNext(
          PublishRequest.newBuilder()
              .setMessage(msg("events.e", "m" + i))
              .setSequence(i)
              .setProducerId("p1")
              .build());
    }
    List<PublishStreamAck> got = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      got.add(acks.next());
    }
    assertThat(got)
        .extracting(PublishStreamAck::getSequence)
        .containsExactlyInAnyOrderElementsOf(
            java.util.stream.LongStream.range(0, 200).boxed().toList());
    assertThat(got).allSatisfy(a -> assertThat(a.hasAck()).isTrue());
    // The client resends 150..199 (say after a reconnect): not stored twice.
    for (int i = 150; i < 200; i++) {
      out.onNext(
          PublishRequest.newBuilder()
              .setMessage(msg("events.e", "m" + i))
              .setSequence(i)
              .setProducerId("p1")
              .build());
    }
    for (int i = 150; i < 200; i++) {
      PublishStreamAck a = acks.next();
      assertThat(a.getAck().getDuplicate()).as("seq " + a.getSequence()).isTrue();
    }
    // A per-message error is an item, not the end of the stream.
    out.onNext(
        PublishRequest.newBuilder().setMessage(msg("bad..subject", "x")).setSequence(999).build());
    PublishStreamAck bad = acks.next();
    assertThat(bad.getSequence()).isEqualTo(999);
    assertThat(bad.getError().getReason()).isEqualTo("INVALID_SUBJECT");
    out.onCompleted();
    acks.done.get(10, TimeUnit.SECONDS);
    assertThat(server.broker().streamInfo("events").partitions().get(0).nextOffset())
        .isEqualTo(200);
  }

  @Test
  void subscribeReceivesPatternMatchesAndQueueGroupsShare() throws Exception {
    SubscriberGrpc.SubscriberStub sub = SubscriberGrpc.newStub(channel);
    Collector<SubscribeResponse> all = new Collector<>();
    sub.subscribe(SubscribeRequest.newBuilder().setPattern("orders.*.created").build(), all);
    Collector<SubscribeResponse> g1 = new Collector<>();
    Collector<SubscribeResponse> g2 = new Collector<>();
    sub.subscribe(
        SubscribeRequest.newBuilder().setPattern("orders.>").setQueueGroup("g").build(), g1);
    sub.subscribe(
        SubscribeRequest.newBuilder().setPattern("orders.>").setQueueGroup("g").build(), g2);
    await().until(() -> server.broker().live().subscriptionCount() == 3);
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    for (int i = 0; i < 10; i++) {
      pub.publish(
          PublishRequest.newBuilder().setMessage(msg("orders.eu.created", "o" + i)).build());
    }
    pub.publish(PublishRequest.newBuilder().setMessage(msg("orders.eu.deleted", "x")).build());
    for (int i = 0; i < 10; i++) {
      assertThat(all.next().getMessage().getPayload().toStringUtf8()).isEqualTo("o" + i);
    }
    await().until(() -> g1.items.size() + g2.items.size() == 11);
    assertThat(all.items).isEmpty();
  }

  @Test
  void subscribeToAnInvalidPatternFails() {
    Collector<SubscribeResponse> bad = new Collector<>();
    SubscriberGrpc.newStub(channel)
        .subscribe(SubscribeRequest.newBuilder().setPattern("a.>.b").build(), bad);
    assertThat(bad.failure()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void requestWithoutRespondersIsUnavailableAtOnce() {
    RequestsGrpc.RequestsBlockingStub req = RequestsGrpc.newBlockingStub(channel);
    long t0 = System.nanoTime();
    assertThatThrownBy(
            () ->
                req.withDeadlineAfter(20, TimeUnit.SECONDS)
                    .request(RequestMessage.newBuilder().setMessage(msg("svc.none", "?")).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(errorInfo(e).getReason()).isEqualTo("NO_RESPONDERS");
            });
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
  }

  @Test
  void serveAnswersRequestsAndTheDeadlineBoundsTheWait() throws Exception {
    Collector<ServeResponse> requests = new Collector<>();
    StreamObserver<ServeRequest> serve = RequestsGrpc.newStub(channel).serve(requests);
    serve.onNext(
        ServeRequest.newBuilder()
            .setServe(ServeRequest.Serve.newBuilder().setPattern("svc.echo").setQueueGroup("echo"))
            .build());
    await().until(() -> server.broker().live().subscriptionCount() == 1);
    RequestsGrpc.RequestsFutureStub req = RequestsGrpc.newFutureStub(channel);
    var reply =
        req.withDeadlineAfter(10, TimeUnit.SECONDS)
            .request(RequestMessage.newBuilder().setMessage(msg("svc.echo", "ping")).build());
    ServeResponse r = requests.next();
    assertThat(r.getRequest().getPayload().toStringUtf8()).isEqualTo("ping");
    serve.onNext(
        ServeRequest.newBuilder()
            .setReply(
                ServeRequest.Reply.newBuilder()
                    .setRequestId(r.getRequestId())
                    .setPayload(utf8("pong")))
            .build());
    assertThat(reply.get(10, TimeUnit.SECONDS).getPayload().toStringUtf8()).isEqualTo("pong");

    // Unanswered: the call's deadline ends the wait (not the 30 s default).
    long t0 = System.nanoTime();
    assertThatThrownBy(
            () ->
                RequestsGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                    .request(RequestMessage.newBuilder().setMessage(msg("svc.echo", "x")).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
    // An unknown request id closes the Serve stream.
    requests.next();
    serve.onNext(
        ServeRequest.newBuilder()
            .setReply(ServeRequest.Reply.newBuilder().setRequestId("nope"))
            .build());
    assertThat(requests.failure()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  void createWorkConsumer(String stream, String consumer) {
    server
        .broker()
        .createConsumer(
            stream,
            ConsumerConfig.builder(consumer)
                .mode(DeliveryMode.SHARED)
                .ackPolicy(AckPolicy.EACH)
                .ackTimeoutMs(60_000)
                .build());
  }

  ConsumeRequest open(String stream, String consumer, int credit) {
    return ConsumeRequest.newBuilder()
        .setOpen(
            ConsumeRequest.Open.newBuilder()
                .setStream(stream)
                .setConsumer(consumer)
                .setCredit(credit))
        .build();
  }

  static ConsumeRequest ack(String... ids) {
    return ConsumeRequest.newBuilder()
        .setAck(ConsumeRequest.Settle.newBuilder().addAllDeliveryIds(List.of(ids)))
        .build();
  }

  void publishJobs(int n) {
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    for (int i = 0; i < n; i++) {
      pub.publish(PublishRequest.newBuilder().setMessage(msg("jobs.j", "job" + i)).build());
    }
  }

  @Test
  void consumeDeliversWithinCreditAndAcksNacksAndMoreCreditWork() throws Exception {
    createStream("jobs", "jobs.>");
    createWorkConsumer("jobs", "workers");
    publishJobs(10);
    Collector<ConsumeResponse> in = new Collector<>();
    StreamObserver<ConsumeRequest> out = SubscriberGrpc.newStub(channel).consume(in);
    out.onNext(open("jobs", "workers", 3));
    assertThat(in.next().hasOpened()).isTrue();
    List<io.switchboard.grpc.v1.Delivery> first = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      first.add(in.next().getDelivery());
    }
    // Within credit: nothing more until something is settled.
    assertThat(in.items.poll(300, TimeUnit.MILLISECONDS)).isNull();
    assertThat(first)
        .extracting(d -> d.getMessage().getMessage().getPayload().toStringUtf8())
        .containsExactly("job0", "job1", "job2");
    out.onNext(ack(first.get(0).getDeliveryId()));
    io.switchboard.grpc.v1.Delivery third = in.next().getDelivery();
    assertThat(third.getMessage().getPosition().getOffset()).isEqualTo(3);
    // A nack with no delay: job1 comes back, delivery count 2.
    out.onNext(
        ConsumeRequest.newBuilder()
            .setNack(
                ConsumeRequest.Nack.newBuilder()
                    .addDeliveryIds(first.get(1).getDeliveryId())
                    .setDelayMs(0))
            .build());
    out.onNext(ConsumeRequest.newBuilder().setCredit(20).build());
    List<io.switchboard.grpc.v1.Delivery> rest = new ArrayList<>();
    while (rest.size() < 7) {
      rest.add(in.next().getDelivery());
    }
    assertThat(rest)
        .anySatisfy(
            d -> {
              assertThat(d.getMessage().getPosition().getOffset()).isEqualTo(1);
              assertThat(d.getDeliveryCount()).isEqualTo(2);
            });
    List<String> ids = new ArrayList<>();
    ids.add(first.get(2).getDeliveryId());
    ids.add(third.getDeliveryId());
    rest.forEach(d -> ids.add(d.getDeliveryId()));
    out.onNext(ack(ids.toArray(String[]::new)));
    await().until(() -> server.broker().consumerInfo("jobs", "workers").unacknowledged() == 0);
    out.onCompleted();
  }

  @Test
  void badInputOnConsumeClosesThatStreamOnly() throws Exception {
    createStream("jobs", "jobs.>");
    createWorkConsumer("jobs", "workers");
    publishJobs(3);
    Collector<ConsumeResponse> healthy = new Collector<>();
    StreamObserver<ConsumeRequest> good = SubscriberGrpc.newStub(channel).consume(healthy);
    good.onNext(open("jobs", "workers", 1));
    assertThat(healthy.next().hasOpened()).isTrue();
    var d = healthy.next().getDelivery();

    // ack before open
    Collector<ConsumeResponse> c1 = new Collector<>();
    SubscriberGrpc.newStub(channel).consume(c1).onNext(ack("0:0:1"));
    assertThat(c1.failure()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // second open
    Collector<ConsumeResponse> c2 = new Collector<>();
    StreamObserver<ConsumeRequest> s2 = SubscriberGrpc.newStub(channel).consume(c2);
    s2.onNext(open("jobs", "workers", 1));
    s2.onNext(open("jobs", "workers", 1));
    assertThat(c2.failure()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // negative credit
    Collector<ConsumeResponse> c3 = new Collector<>();
    StreamObserver<ConsumeRequest> s3 = SubscriberGrpc.newStub(channel).consume(c3);
    s3.onNext(open("jobs", "workers", 1));
    s3.onNext(ConsumeRequest.newBuilder().setCredit(-5).build());
    assertThat(c3.failure()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // unknown delivery
    Collector<ConsumeResponse> c4 = new Collector<>();
    StreamObserver<ConsumeRequest> s4 = SubscriberGrpc.newStub(channel).consume(c4);
    s4.onNext(open("jobs", "workers", 1));
    s4.onNext(ack("7:7:7"));
    assertThat(c4.failure()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // unknown consumer
    Collector<ConsumeResponse> c5 = new Collector<>();
    SubscriberGrpc.newStub(channel).consume(c5).onNext(open("jobs", "nobody", 1));
    assertThat(c5.failure()).isEqualTo(Status.Code.NOT_FOUND);

    // The first stream still works.
    good.onNext(ack(d.getDeliveryId()));
    assertThat(healthy.next().hasDelivery()).isTrue();
    good.onCompleted();
  }
}
