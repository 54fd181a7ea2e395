package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-connection limits of HTTP/2: {@code grpc.max-concurrent-streams} (a stream past it is refused
 * with {@code RST_STREAM REFUSED_STREAM}, or queued by a client that honours the setting, as
 * grpc-java does; the connection, its other streams and the server carry on) and the keep-alive
 * policy (a client pinging more often than {@code grpc.permit-keepalive-ms} is sent {@code GOAWAY
 * ENHANCE_YOUR_CALM "too_many_pings"}; an idle connection that answers the server's pings every
 * {@code grpc.keepalive-ms} is kept).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcConnectionLimitsTest {
  static final String SUBSCRIBE = "/switchboard.v1.Subscriber/Subscribe";

  @TempDir Path dir;
  SwitchboardServer server;
  final List<ManagedChannel> channels = new ArrayList<>();

  void start(String... settings) throws Exception {
    Map<String, String> config = new HashMap<>();
    config.put(ConfigCatalogue.DATA_DIR.name(), dir.toString());
    for (int i = 0; i < settings.length; i += 2) {
      config.put(settings[i], settings[i + 1]);
    }
    server = SwitchboardServer.startOnFreePorts(config);
  }

  int port() {
    return server.addresses().get("grpc").getPort();
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

  /** A live subscription that counts its messages and can be cancelled. */
  static final class Sub implements ClientResponseObserver<SubscribeRequest, SubscribeResponse> {
    final AtomicReference<ClientCallStreamObserver<SubscribeRequest>> call =
        new AtomicReference<>();
    final AtomicInteger messages = new AtomicInteger();
    final AtomicReference<Throwable> error = new AtomicReference<>();

    static Sub open(ManagedChannel channel, String pattern) {
      Sub s = new Sub();
      SubscriberGrpc.newStub(channel)
          .subscribe(SubscribeRequest.newBuilder().setPattern(pattern).build(), s);
      return s;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SubscribeRequest> r) {
      call.set(r);
    }

    @Override
    public void onNext(SubscribeResponse r) {
      if (r.hasMessage()) {
        messages.incrementAndGet();
      }
    }

    @Override
    public void onError(Throwable t) {
      error.set(t);
    }

    @Override
    public void onCompleted() {}
  }

  void publish(ManagedChannel channel, String subject) {
    PublisherGrpc.newBlockingStub(channel)
        .publish(PublishRequest.newBuilder().setMessage(msg(subject, "x")).build());
  }

  boolean serving(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance())
            .getStatus()
        == HealthCheckResponse.ServingStatus.SERVING;
  }

  int liveSubscriptions() {
    return server.broker().live().subscriptionCount();
  }

  @Test
  void aStreamPastTheLimitIsRefusedAndTheConnectionAndServerCarryOn() throws Exception {
    start("grpc.max-concurrent-streams", "2");
    ManagedChannel other = channel();
    Sub elsewhere = Sub.open(other, "other.>");
    await().until(() -> liveSubscriptions() == 1);
    try (RawH2 raw = new RawH2(port(), 30_000)) {
      raw.openCall(1, SUBSCRIBE);
      raw.openCall(3, SUBSCRIBE);
      raw.openCall(5, SUBSCRIBE); // a third at once: over the limit of 2
      RawH2.Frame reset = raw.readUntil(RawH2.RST_STREAM);
      assertThat(reset.stream()).isEqualTo(5);
      assertThat(reset.errorCode()).isEqualTo(RawH2.REFUSED_STREAM);
      // The connection is still up: a ping is answered.
      raw.ping(42);
      RawH2.Frame pong;
      do {
        pong = raw.readUntil(RawH2.PING);
      } while ((pong.flags() & RawH2.ACK) == 0);
      assertThat(pong.payload()[7]).isEqualTo((byte) 42);
    }
    // The server and another connection's stream are unaffected.
    assertThat(serving(other)).isTrue();
    publish(other, "other.x");
    await().until(() -> elsewhere.messages.get() == 1);
    assertThat(elsewhere.error.get()).isNull();
  }

  @Test
  void aStreamTheClientResetsGivesItsPlaceBack() throws Exception {
    start("grpc.max-concurrent-streams", "2");
    try (RawH2 raw = new RawH2(port(), 30_000)) {
      raw.openCall(1, SUBSCRIBE);
      raw.openCall(3, SUBSCRIBE);
      raw.write(RawH2.RST_STREAM, 0, 1, new byte[] {0, 0, 0, 8}); // CANCEL
      raw.openCall(5, SUBSCRIBE); // takes the place of 1
      raw.openCall(7, SUBSCRIBE); // over the limit again
      RawH2.Frame reset = raw.readUntil(RawH2.RST_STREAM);
      assertThat(reset.stream()).isEqualTo(7);
      assertThat(reset.errorCode()).isEqualTo(RawH2.REFUSED_STREAM);
    }
  }

  @Test
  void aClientPingingTooOftenIsSentGoAwayEnhanceYourCalmAndOthersCarryOn() throws Exception {
    start("grpc.permit-keepalive-ms", "10000");
    ManagedChannel other = channel();
    Sub elsewhere = Sub.open(other, "calm.>");
    await().until(() -> liveSubscriptions() == 1);
    try (RawH2 raw = new RawH2(port(), 30_000)) {
      for (int i = 0; i < 5; i++) {
        raw.ping(i); // five in a row, where one per 10 s is permitted
      }
      RawH2.Frame goAway = raw.readUntil(RawH2.GOAWAY);
      assertThat(goAway.errorCode()).isEqualTo(RawH2.ENHANCE_YOUR_CALM);
      assertThat(goAway.debugData()).isEqualTo("too_many_pings");
      await().atMost(Duration.ofSeconds(30)).until(raw::isClosedByServer);
    }
    assertThat(serving(other)).isTrue();
    publish(other, "calm.x");
    await().until(() -> elsewhere.messages.get() == 1);
    assertThat(elsewhere.error.get()).isNull();
  }

  @Test
  void anIdleConnectionAnsweringTheServersKeepAlivePingsIsKept() throws Exception {
    start("grpc.keepalive-ms", "1000");
    try (RawH2 raw = new RawH2(port(), 30_000)) {
      long t0 = System.nanoTime();
      int pings = 0;
      while (pings < 3) {
        RawH2.Frame f = raw.read();
        assertThat(f.type()).as("no GOAWAY on an idle connection").isNotEqualTo(RawH2.GOAWAY);
        if (f.type() == RawH2.PING && (f.flags() & RawH2.ACK) == 0) {
          pings++;
          raw.write(RawH2.PING, RawH2.ACK, 0, f.payload());
        }
      }
      // Three pings one keep-alive interval apart: at least about two seconds in all.
      assertThat(System.nanoTime() - t0).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(1800));
      // Still open and answering, after being idle all along.
      raw.ping(7);
      RawH2.Frame pong;
      do {
        pong = raw.readUntil(RawH2.PING);
      } while ((pong.flags() & RawH2.ACK) == 0);
      assertThat(pong.payload()[7]).isEqualTo((byte) 7);
    }
  }
}
