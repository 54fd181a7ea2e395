package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
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
 * MQTT over WebSocket on the HTTP port ({@code ws://host:7480/mqtt}, sub-protocol {@code mqtt}), as
 * browsers speak it: the same subjects as MQTT over TCP and the native protocol.
 */
class MqttOverWebSocketTest {
  @TempDir Path dir;
  SwitchboardServer server;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void webSocketAndTcpMqttClientsAndTheNativeClientShareSubjects() throws Exception {
    String ws = "ws://127.0.0.1:" + server.addresses().get("http").getPort() + "/mqtt";
    String tcp = "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort();
    ConcurrentLinkedQueue<String> overWs = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<LiveMessage> overNative = new ConcurrentLinkedQueue<>();

    MqttClient browser = new MqttClient(ws, "browser", new MemoryPersistence());
    browser.connect();
    browser.subscribe(
        "room/+",
        1,
        (t, m) -> overWs.add(t + "=" + new String(m.getPayload(), StandardCharsets.UTF_8)));
    MqttClient device = new MqttClient(tcp, "device", new MemoryPersistence());
    device.connect();
    try (SwitchboardClient nat =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
      nat.subscribe("room.>", overNative::add);

      device.publish("room/kitchen", "21.5".getBytes(StandardCharsets.UTF_8), 1, false);
      await().atMost(Duration.ofSeconds(10)).until(() -> overWs.contains("room/kitchen=21.5"));

      browser.publish("room/hall", "open".getBytes(StandardCharsets.UTF_8), 1, false);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> overNative.stream().anyMatch(m -> m.subject().equals("room.hall")));
      // Its own subscription matches too.
      await().atMost(Duration.ofSeconds(10)).until(() -> overWs.contains("room/hall=open"));
      assertThat(overWs).containsExactlyInAnyOrder("room/kitchen=21.5", "room/hall=open");
    } finally {
      device.disconnect();
      browser.disconnect();
    }
  }

  @Test
  void mqttOverWebSocketAuthenticatesInItsConnectWhenAuthenticationIsRequired() throws Exception {
    server.close();
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("auth").toString(),
                "auth.required",
                "true",
                "auth.failure-delay-ms",
                "10"));
    server.security().addUser("browser", "b-pw", "test");
    String ws = "ws://127.0.0.1:" + server.addresses().get("http").getPort() + "/mqtt";
    // The upgrade carries no Authorization (browsers cannot send one); CONNECT does. A CONNECT
    // without credentials is refused in CONNACK; Paho's WebSocket reader may report the close
    // that follows before it, so only the failure is asserted here (MqttSecurityTest has codes).
    MqttClient anonymous = new MqttClient(ws, "anon", new MemoryPersistence());
    org.assertj.core.api.Assertions.assertThatThrownBy(anonymous::connect)
        .isInstanceOf(org.eclipse.paho.client.mqttv3.MqttException.class);
    MqttClient browser = new MqttClient(ws, "browser", new MemoryPersistence());
    org.eclipse.paho.client.mqttv3.MqttConnectOptions o =
        new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
    o.setUserName("browser");
    o.setPassword("b-pw".toCharArray());
    browser.connect(o);
    assertThat(browser.isConnected()).isTrue();
    browser.disconnect();
  }
}
