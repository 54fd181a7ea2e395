package io.switchboard.it;

import static io.switchboard.testkit.PrometheusSamples.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} on the HTTP port counts every front end, not only HTTP: connections, messages
 * and bytes published and delivered by the native protocol, MQTT (over TCP and WebSocket) and gRPC
 * (with its calls by method and status), and bad input by protocol and reason.
 */
class ProtocolMetricsTest {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  SwitchboardServer server;
  HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  @AfterEach
  void stop() {
    http.close();
    server.close();
  }

  int port(String frontEnd) {
    return server.addresses().get(frontEnd).getPort();
  }

  String scrape() throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port("http") + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  double current(String name, String... labels) throws Exception {
    return value(scrape(), name, labels);
  }

  @Test
  void nativeAndMqttTrafficIsCountedByProtocol() throws Exception {
    ConcurrentLinkedQueue<LiveMessage> got = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> overMqtt = new ConcurrentLinkedQueue<>();
    MqttClient tcp =
        new MqttClient("tcp://127.0.0.1:" + port("mqtt"), "metrics-tcp", new MemoryPersistence());
    MqttClient ws =
        new MqttClient(
            "ws://127.0.0.1:" + port("http") + "/mqtt", "metrics-ws", new MemoryPersistence());
    try (SwitchboardClient nat = SwitchboardClient.connect("127.0.0.1:" + port("native"))) {
      tcp.connect();
      ws.connect();
      assertThat(current("switchboard_connections", "protocol=\"native\"")).isEqualTo(1);
      assertThat(current("switchboard_connections", "protocol=\"mqtt\"")).isEqualTo(2);

      nat.subscribe("m.>", got::add);
      ws.subscribe("m/#", 1, (t, m) -> overMqtt.add(t));
      // Two native publishes of 5 bytes, one MQTT publish of 3 bytes: each reaches both
      // subscribers (native over TCP, MQTT over WebSocket).
      nat.publish("m.a", "hello".getBytes(StandardCharsets.UTF_8));
      nat.publish("m.b", "world".getBytes(StandardCharsets.UTF_8));
      tcp.publish("m/c", "abc".getBytes(StandardCharsets.UTF_8), 1, false);
      await().atMost(WAIT).until(() -> got.size() == 3 && overMqtt.size() == 3);

      String s = scrape();
      assertThat(value(s, "switchboard_published_messages_total", "protocol=\"native\""))
          .isEqualTo(2);
      assertThat(value(s, "switchboard_published_bytes_total", "protocol=\"native\""))
          .isEqualTo(10);
      assertThat(value(s, "switchboard_published_messages_total", "protocol=\"mqtt\""))
          .isEqualTo(1);
      assertThat(value(s, "switchboard_published_bytes_total", "protocol=\"mqtt\"")).isEqualTo(3);
      assertThat(
              value(
                  s,
                  "switchboard_delivered_messages_total",
                  "protocol=\"native\"",
                  "transport=\"tcp\""))
          .isEqualTo(3);
      assertThat(
              value(
                  s,
                  "switchboard_delivered_bytes_total",
                  "protocol=\"mqtt\"",
                  "transport=\"websocket\""))
          .isEqualTo(13);
      // HTTP counts under the same names.
      assertThat(value(s, "switchboard_published_messages_total", "protocol=\"http\""))
          .isEqualTo(0);
    } finally {
      tcp.disconnect();
      ws.disconnect();
    }
    await().atMost(WAIT).until(() -> current("switchboard_connections", "protocol=\"mqtt\"") == 0);
    await()
        .atMost(WAIT)
        .until(() -> current("switchboard_connections", "protocol=\"native\"") == 0);
  }

  @Test
  void grpcConnectionsCallsAndMessagesAreCounted() throws Exception {
    io.grpc.ManagedChannel ch =
        io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", port("grpc"))
            .usePlaintext()
            .build();
    try {
      ConcurrentLinkedQueue<io.switchboard.grpc.v1.SubscribeResponse> got =
          new ConcurrentLinkedQueue<>();
      io.grpc.stub.StreamObserver<io.switchboard.grpc.v1.SubscribeResponse> sink =
          new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(io.switchboard.grpc.v1.SubscribeResponse r) {
              got.add(r);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          };
      io.switchboard.grpc.v1.SubscriberGrpc.newStub(ch)
          .subscribe(
              io.switchboard.grpc.v1.SubscribeRequest.newBuilder().setPattern("g.>").build(), sink);
      await().atMost(WAIT).until(() -> server.broker().live().subscriptionCount() == 1);
      assertThat(current("switchboard_connections", "protocol=\"grpc\"")).isEqualTo(1);
      var pub = io.switchboard.grpc.v1.PublisherGrpc.newBlockingStub(ch);
      // Two publishes of 5 bytes, one refused (an invalid subject): 3 calls, 2 messages in.
      for (String subject : new String[] {"g.a", "g.b"}) {
        pub.publish(grpcPublish(subject, "hello"));
      }
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> pub.publish(grpcPublish("g..", "x")))
          .isInstanceOf(io.grpc.StatusRuntimeException.class);
      await().atMost(WAIT).until(() -> got.size() == 2);

      String s = scrape();
      assertThat(value(s, "switchboard_published_messages_total", "protocol=\"grpc\""))
          .isEqualTo(2); // accepted by the broker: not the refused one
      assertThat(value(s, "switchboard_published_bytes_total", "protocol=\"grpc\"")).isEqualTo(10);
      assertThat(
              value(
                  s,
                  "switchboard_delivered_messages_total",
                  "protocol=\"grpc\"",
                  "transport=\"subscribe\""))
          .isEqualTo(2);
      assertThat(
              value(
                  s,
                  "switchboard_delivered_bytes_total",
                  "protocol=\"grpc\"",
                  "transport=\"subscribe\""))
          .isEqualTo(10);
      String publish = "method=\"switchboard.v1.Publisher/Publish\"";
      assertThat(value(s, "switchboard_calls_total", "protocol=\"grpc\"", publish, "status=\"OK\""))
          .isEqualTo(2);
      assertThat(
              value(
                  s,
                  "switchboard_calls_total",
                  "protocol=\"grpc\"",
                  publish,
                  "status=\"INVALID_ARGUMENT\""))
          .isEqualTo(1);
    } finally {
      ch.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    }
    // The subscription ended with its connection: cancelled, and no connection left open.
    await().atMost(WAIT).until(() -> current("switchboard_connections", "protocol=\"grpc\"") == 0);
    await()
        .atMost(WAIT)
        .until(
            () ->
                current(
                        "switchboard_calls_total",
                        "protocol=\"grpc\"",
                        "method=\"switchboard.v1.Subscriber/Subscribe\"",
                        "status=\"CANCELLED\"")
                    == 1);
  }

  static io.switchboard.grpc.v1.PublishRequest grpcPublish(String subject, String payload) {
    return io.switchboard.grpc.v1.PublishRequest.newBuilder()
        .setMessage(
            io.switchboard.grpc.v1.Message.newBuilder()
                .setSubject(subject)
                .setPayload(com.google.protobuf.ByteString.copyFromUtf8(payload)))
        .build();
  }

  @Test
  void badInputIsCountedByProtocolAndReason() throws Exception {
    // MQTT: a PUBLISH (QoS 0, topic "a", no payload) before CONNECT [MQTT-3.1.0-1].
    try (Socket s = new Socket("127.0.0.1", port("mqtt"))) {
      s.getOutputStream().write(new byte[] {0x30, 0x03, 0x00, 0x01, 'a'});
      assertThat(s.getInputStream().readAllBytes()).isEmpty(); // closed, nothing sent back
    }
    // Native: a frame header that is not HELLO as the first frame.
    try (RawConnection raw = new RawConnection(port("native"))) {
      raw.sendRaw(new byte[FrameDescriptor.HEADER_BYTES]);
      assertThat(raw.read()).isNotNull(); // the fatal ERROR frame
    }
    await()
        .atMost(WAIT)
        .until(
            () ->
                current(
                        "switchboard_bad_input_total",
                        "protocol=\"mqtt\"",
                        "reason=\"packet_before_connect\"")
                    == 1);
    assertThat(
            current(
                "switchboard_bad_input_total",
                "protocol=\"native\"",
                "reason=\"handshake_required\""))
        .isEqualTo(1);
    // Other clients are unaffected: a fresh MQTT client still connects and publishes.
    MqttClient ok =
        new MqttClient("tcp://127.0.0.1:" + port("mqtt"), "after-bad", new MemoryPersistence());
    ok.connect();
    ok.publish("x/y", new byte[] {1}, 1, false);
    ok.disconnect();
    assertThat(current("switchboard_published_messages_total", "protocol=\"mqtt\"")).isEqualTo(1);
  }
}
