package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication from call metadata (Basic and Bearer) and every call decided at the shared
 * decision point, on a server that requires authentication and denies by default.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcSecurityTest {
  static final String SECRET = "an-hmac-secret-of-at-least-32-bytes!!";

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
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.failure-delay-ms",
                "10",
                "auth.jwt.secret",
                SECRET));
    server.security().addUser("alice", "alice-pw", "test");
    rule("user:alice", Permission.PUBLISH, "orders.>");
    rule("token:dashboard", Permission.SUBSCRIBE, "orders.>");
    channel = GrpcApiTest.connect(server);
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  void rule(String who, Permission p, String resource) {
    server
        .security()
        .addRule(new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), resource), "test");
  }

  static Metadata auth(String value) {
    Metadata m = new Metadata();
    m.put(GrpcAuth.AUTHORIZATION, value);
    return m;
  }

  static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  static String token(String subject) throws Exception {
    com.nimbusds.jwt.SignedJWT jwt =
        new com.nimbusds.jwt.SignedJWT(
            new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256),
            new com.nimbusds.jwt.JWTClaimsSet.Builder()
                .subject(subject)
                .expirationTime(new java.util.Date(System.currentTimeMillis() + 60_000))
                .build());
    jwt.sign(new com.nimbusds.jose.crypto.MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  PublisherGrpc.PublisherBlockingStub publisher(Metadata m) {
    PublisherGrpc.PublisherBlockingStub stub = PublisherGrpc.newBlockingStub(channel);
    return m == null ? stub : stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
  }

  static void assertCode(Runnable call, Status.Code code, String reason) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(GrpcApiTest.errorInfo(e).getReason()).isEqualTo(reason);
            });
  }

  @Test
  void basicCredentialsPublishWhereTheRulesAllowOnly() {
    PublishRequest orders = PublishRequest.newBuilder().setMessage(msg("orders.1", "x")).build();
    assertThat(publisher(auth(basic("alice", "alice-pw"))).publish(orders).getDurability())
        .isNotNull();
    // Again: the remembered credential, same answer.
    publisher(auth(basic("alice", "alice-pw"))).publish(orders);
    assertCode(
        () ->
            publisher(auth(basic("alice", "alice-pw")))
                .publish(PublishRequest.newBuilder().setMessage(msg("payroll.1", "x")).build()),
        Status.Code.PERMISSION_DENIED,
        "PERMISSION_DENIED");
    assertCode(
        () -> publisher(auth(basic("alice", "wrong"))).publish(orders),
        Status.Code.UNAUTHENTICATED,
        "AUTHENTICATION_FAILED");
    assertCode(
        () -> publisher(null).publish(orders),
        Status.Code.UNAUTHENTICATED,
        "AUTHENTICATION_REQUIRED");
    assertCode(
        () -> publisher(auth("Digest abc")).publish(orders),
        Status.Code.UNAUTHENTICATED,
        "AUTHENTICATION_FAILED");
  }

  @Test
  void bearerTokenSubscribesWhereTheRulesAllow() throws Exception {
    Metadata m = auth("Bearer " + token("dashboard"));
    GrpcApiTest.Collector<SubscribeResponse> ok = new GrpcApiTest.Collector<>();
    SubscriberGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
        .subscribe(SubscribeRequest.newBuilder().setPattern("orders.>").build(), ok);
    org.awaitility.Awaitility.await().until(() -> server.broker().live().subscriptionCount() == 1);
    publisher(auth(basic("alice", "alice-pw")))
        .publish(PublishRequest.newBuilder().setMessage(msg("orders.7", "seen")).build());
    assertThat(ok.next().getMessage().getPayload().toStringUtf8()).isEqualTo("seen");

    GrpcApiTest.Collector<SubscribeResponse> denied = new GrpcApiTest.Collector<>();
    SubscriberGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
        .subscribe(SubscribeRequest.newBuilder().setPattern("payroll.>").build(), denied);
    assertThat(denied.failure()).isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  /**
   * Whole-stream reads (issue 18): Read skips the subjects the reader may not subscribe to,
   * ReadSubject of one is refused, and a Consume of a consumer that could deliver one is refused.
   */
  @Test
  void streamReadsNeverCarryASubjectTheReaderMayNotSubscribeTo() throws Exception {
    server
        .broker()
        .createStream(
            io.switchboard.broker.stream.StreamConfig.builder("orders", "orders.>").build());
    server
        .broker()
        .createConsumer(
            "orders", io.switchboard.broker.consumer.ConsumerConfig.builder("all").build());
    for (String subject : new String[] {"orders.1", "orders.secret.1", "orders.2"}) {
      server
          .broker()
          .publish(
              io.switchboard.core.Message.of(subject, new byte[] {1}, 0),
              io.switchboard.broker.PublishOptions.NONE)
          .get(10, TimeUnit.SECONDS);
    }
    rule("token:reader", Permission.CONSUME, "orders.>");
    rule("token:reader", Permission.SUBSCRIBE, "orders.>");
    server
        .security()
        .addRule(
            new AclRule(
                "",
                AclRule.Effect.DENY,
                "token:reader",
                EnumSet.of(Permission.SUBSCRIBE),
                "orders.secret.>"),
            "test");
    Metadata m = auth("Bearer " + token("reader"));
    java.util.List<String> read = new java.util.ArrayList<>();
    io.switchboard.grpc.v1.StreamsGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .read(io.switchboard.grpc.v1.ReadRequest.newBuilder().setStream("orders").build())
        .forEachRemaining(
            r -> {
              if (r.hasMessage()) {
                read.add(r.getMessage().getMessage().getSubject());
              } else {
                assertThat(r.getCaughtUp().getNextOffset()).isEqualTo(3);
              }
            });
    assertThat(read).containsExactly("orders.1", "orders.2");
    assertThat(server.security().skippedReads()).isEqualTo(1);
    assertThatThrownBy(
            () ->
                io.switchboard.grpc.v1.EventStoreGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
                    .readSubject(
                        io.switchboard.grpc.v1.ReadSubjectRequest.newBuilder()
                            .setStream("orders")
                            .setSubject("orders.secret.1")
                            .build())
                    .hasNext())
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    GrpcApiTest.Collector<io.switchboard.grpc.v1.ConsumeResponse> in =
        new GrpcApiTest.Collector<>();
    SubscriberGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
        .consume(in)
        .onNext(
            io.switchboard.grpc.v1.ConsumeRequest.newBuilder()
                .setOpen(
                    io.switchboard.grpc.v1.ConsumeRequest.Open.newBuilder()
                        .setStream("orders")
                        .setConsumer("all")
                        .setCredit(5))
                .build());
    assertThat(in.failure()).isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  /** A grant revoked while a Consume stream is open ends it at the next delivery (issue 18). */
  @Test
  void aConsumeStreamEndsWhenItsGrantIsRevoked() throws Exception {
    server
        .broker()
        .createStream(
            io.switchboard.broker.stream.StreamConfig.builder("orders", "orders.>").build());
    server
        .broker()
        .createConsumer(
            "orders", io.switchboard.broker.consumer.ConsumerConfig.builder("all").build());
    AclRule consume =
        server
            .security()
            .addRule(
                new AclRule(
                    "",
                    AclRule.Effect.ALLOW,
                    "token:worker",
                    EnumSet.of(Permission.CONSUME),
                    "orders.all"),
                "test");
    rule("token:worker", Permission.SUBSCRIBE, "orders.>");
    Metadata m = auth("Bearer " + token("worker"));
    GrpcApiTest.Collector<io.switchboard.grpc.v1.ConsumeResponse> in =
        new GrpcApiTest.Collector<>();
    StreamObserver<io.switchboard.grpc.v1.ConsumeRequest> out =
        SubscriberGrpc.newStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
            .consume(in);
    out.onNext(
        io.switchboard.grpc.v1.ConsumeRequest.newBuilder()
            .setOpen(
                io.switchboard.grpc.v1.ConsumeRequest.Open.newBuilder()
                    .setStream("orders")
                    .setConsumer("all")
                    .setCredit(5))
            .build());
    assertThat(in.next().hasOpened()).isTrue();
    publishDirect("orders.1");
    assertThat(in.next().getDelivery().getMessage().getMessage().getSubject())
        .isEqualTo("orders.1");

    server.security().removeRule(consume.id(), "test");
    publishDirect("orders.2");
    assertThat(in.failure()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(in.items)
        .noneMatch(
            r ->
                r.hasDelivery()
                    && r.getDelivery().getMessage().getMessage().getSubject().equals("orders.2"));
  }

  void publishDirect(String subject) throws Exception {
    server
        .broker()
        .publish(
            io.switchboard.core.Message.of(subject, new byte[] {1}, 0),
            io.switchboard.broker.PublishOptions.NONE)
        .get(10, TimeUnit.SECONDS);
  }
}
