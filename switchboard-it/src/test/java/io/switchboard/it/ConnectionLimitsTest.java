package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.Dropped;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.Ok;
import io.switchboard.protocol.frame.Ping;
import io.switchboard.protocol.frame.Pong;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.protocol.frame.Read;
import io.switchboard.protocol.frame.Subscribe;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bound of the native front end, each hit on purpose: the offender gets its error code, and a
 * healthy connection opened before keeps working.
 */
class ConnectionLimitsTest {
  static final int MAX_CONNECTIONS = 3;
  static final int MAX_SUBSCRIPTIONS = 2;
  static final long MAX_PENDING_BYTES = 64 * 1024;

  @TempDir Path dir;
  SwitchboardServer server;
  SwitchboardClient healthy;
  int port;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                NativeKeys.PORT.name(),
                "0",
                NativeKeys.MAX_CONNECTIONS.name(),
                "" + MAX_CONNECTIONS,
                NativeKeys.MAX_SUBSCRIPTIONS.name(),
                "" + MAX_SUBSCRIPTIONS,
                NativeKeys.MAX_PENDING_BYTES.name(),
                "" + MAX_PENDING_BYTES,
                NativeKeys.HANDSHAKE_TIMEOUT_MS.name(),
                "300"));
    port = server.addresses().get("native").getPort();
    healthy = SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port).withReconnect(false));
  }

  @AfterEach
  void stop() {
    healthy.close();
    server.close();
  }

  void assertHealthyStillWorks() {
    PubAck ack = healthy.publish("health.check", "ok".getBytes(StandardCharsets.UTF_8));
    assertThat(ack.durability()).isEqualTo(PubAck.Durability.MEMORY);
  }

  static ErrorFrame fatalError(RawConnection c) throws IOException {
    Frame f = c.read();
    assertThat(f).isInstanceOf(ErrorFrame.class);
    ErrorFrame e = (ErrorFrame) f;
    assertThat(e.fatal()).isTrue();
    assertThat(e.requestId()).isZero();
    assertThat(c.closedByServer()).as("closed after a fatal error").isTrue();
    return e;
  }

  @Test
  void connectionsPastTheLimitAreRefused() throws Exception {
    try (RawConnection second = new RawConnection(port).handshake();
        RawConnection third = new RawConnection(port).handshake();
        RawConnection fourth = new RawConnection(port)) {
      assertThat(fatalError(fourth).errorCode()).isEqualTo(ErrorCode.TOO_MANY_CONNECTIONS);
      assertHealthyStillWorks();
      for (RawConnection open : new RawConnection[] {second, third}) {
        open.send(new Ping(42));
        assertThat(open.read()).isEqualTo(new Pong(42));
      }
    }
    // Slots come back when connections close (as soon as the server has seen them go).
    await()
        .atMost(Duration.ofSeconds(10))
        .ignoreException(SwitchboardClientException.class)
        .until(
            () -> {
              try (SwitchboardClient again =
                  SwitchboardClient.connect(
                      ClientOptions.of("127.0.0.1", port).withReconnect(false))) {
                return again.isConnected();
              }
            });
  }

  @Test
  void subscriptionsPastTheLimitAndReusedIdsAreRefusedWithoutClosing() throws Exception {
    healthy.subscribe("a.>", m -> {});
    healthy.subscribe("b.>", m -> {});
    assertThatThrownBy(() -> healthy.subscribe("c.>", m -> {}))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.TOO_MANY_SUBSCRIPTIONS));
    assertHealthyStillWorks();
    try (RawConnection raw = new RawConnection(port).handshake()) {
      raw.send(new Subscribe(1, 7, "x.>", null));
      assertThat(raw.read()).isInstanceOf(Ok.class);
      raw.send(new Subscribe(2, 7, "y.>", null));
      ErrorFrame e = (ErrorFrame) raw.read();
      assertThat(e.errorCode()).isEqualTo(ErrorCode.SUBSCRIPTION_EXISTS);
      assertThat(e.requestId()).isEqualTo(2);
      assertThat(e.fatal()).isFalse();
    }
  }

  @Test
  void protocolViolationsCloseOnlyTheOffender() throws Exception {
    try (RawConnection early = new RawConnection(port)) {
      early.send(Publish.of(1, "too.early", new byte[0]));
      assertThat(fatalError(early).errorCode()).isEqualTo(ErrorCode.HANDSHAKE_REQUIRED);
    }
    try (RawConnection future = new RawConnection(port)) {
      future.send(new Hello(9, 9, 0, "from-the-future", null));
      assertThat(fatalError(future).errorCode()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
    }
    try (RawConnection unknown = new RawConnection(port).handshake()) {
      unknown.sendRaw(new byte[] {0, 0, 0, 0, (byte) 0x7E, 0});
      assertThat(fatalError(unknown).errorCode()).isEqualTo(ErrorCode.UNKNOWN_FRAME_TYPE);
    }
    try (RawConnection silent = new RawConnection(port)) {
      assertThat(fatalError(silent).errorCode()).isEqualTo(ErrorCode.HANDSHAKE_TIMEOUT);
    }
    assertHealthyStillWorks();
  }

  @Test
  void aSubscriberThatStopsReadingLosesLiveMessagesAndIsToldHowMany() throws Exception {
    try (RawConnection slow = new RawConnection(port).handshake()) {
      slow.send(new Subscribe(1, 1, "flood.>", null));
      assertThat(slow.read()).isInstanceOf(Ok.class);
      // Far more than the socket buffers and the 64 KiB limit hold while nobody reads.
      byte[] payload = new byte[1024];
      CompletableFuture<?>[] acks = new CompletableFuture<?>[20_000];
      for (int i = 0; i < acks.length; i++) {
        acks[i] = healthy.publishAsync(PublishBuilder.to("flood.x", payload));
      }
      CompletableFuture.allOf(acks).join();
      long dropped = 0;
      int messages = 0;
      while (dropped == 0) {
        Frame f = slow.read();
        if (f instanceof Dropped d) {
          dropped = d.totalDropped();
        } else {
          messages++;
        }
      }
      assertThat(dropped).isPositive();
      assertThat(messages + dropped).isLessThanOrEqualTo(acks.length);
      assertHealthyStillWorks();
    }
  }

  @Test
  void aClientThatStopsReadingAnswersIsCutOff() throws Exception {
    healthy.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"BIG\",\"subjects\":[\"big.>\"]}");
    byte[] payload = new byte[16 * 1024];
    CompletableFuture<?>[] acks = new CompletableFuture<?>[256]; // 4 MiB stored
    for (int i = 0; i < acks.length; i++) {
      acks[i] = healthy.publishAsync(PublishBuilder.to("big.x", payload));
    }
    CompletableFuture.allOf(acks).join();
    try (RawConnection greedy = new RawConnection(port).handshake()) {
      // Each answer is up to 1 MiB; asked for many times over without reading any of them.
      for (int i = 1; i <= 200; i++) {
        greedy.send(new Read(i, 0, 0L, 1 << 20, 100_000, "BIG"));
      }
      ErrorFrame e = null;
      while (e == null) {
        Frame f = greedy.read();
        if (f instanceof ErrorFrame err) {
          e = err;
        }
      }
      assertThat(e.errorCode()).isEqualTo(ErrorCode.SLOW_CONSUMER);
      assertThat(e.fatal()).isTrue();
      assertThat(greedy.closedByServer()).isTrue();
    }
    assertHealthyStillWorks();
  }
}
