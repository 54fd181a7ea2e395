package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.Header;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * W3C trace context across MQTT 5: {@code traceparent} / {@code tracestate} user properties are
 * message headers, unchanged, and a message's are user properties (tracing off: passed through).
 */
class MqttTraceHeadersTest {
  static final String PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static final String STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

  @TempDir Path dir;
  SwitchboardServer server;
  SwitchboardClient nativeClient;
  MqttClient mqtt;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    nativeClient =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort());
    mqtt =
        new MqttClient(
            "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort(),
            "traced",
            new MemoryPersistence());
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setCleanStart(true);
    mqtt.connect(o);
  }

  @AfterEach
  void stop() throws Exception {
    if (mqtt.isConnected()) {
      mqtt.disconnect();
    }
    mqtt.close();
    nativeClient.close();
    server.close();
  }

  @Test
  void userPropertiesCarryTheTraceContextIntoMessageHeaders() throws Exception {
    List<LiveMessage> seen = new CopyOnWriteArrayList<>();
    nativeClient.subscribe("sensors.>", seen::add);
    MqttMessage m = new MqttMessage("21.5".getBytes(StandardCharsets.UTF_8));
    m.setQos(1);
    MqttProperties props = new MqttProperties();
    props.setUserProperties(
        List.of(new UserProperty("traceparent", PARENT), new UserProperty("tracestate", STATE)));
    m.setProperties(props);
    mqtt.publish("sensors/t1", m);
    await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
    assertThat(text(seen.get(0).headers(), "traceparent")).isEqualTo(PARENT);
    assertThat(text(seen.get(0).headers(), "tracestate")).isEqualTo(STATE);
  }

  @Test
  void messageHeadersReachAnMqttSubscriberAsUserProperties() throws Exception {
    CompletableFuture<MqttProperties> got = new CompletableFuture<>();
    mqtt.subscribe(
            new MqttSubscription[] {new MqttSubscription("sensors/#", 1)},
            new IMqttMessageListener[] {(topic, msg) -> got.complete(msg.getProperties())})
        .waitForCompletion(10_000);
    nativeClient.publish(
        PublishBuilder.to("sensors.t2", "x")
            .header("traceparent", PARENT)
            .header("tracestate", STATE));
    MqttProperties props = got.get(10, TimeUnit.SECONDS);
    assertThat(props.getUserProperties())
        .contains(new UserProperty("traceparent", PARENT), new UserProperty("tracestate", STATE));
  }

  private static String text(List<Header> headers, String name) {
    for (Header h : headers) {
      if (h.key().equals(name)) {
        return new String(h.value(), StandardCharsets.UTF_8);
      }
    }
    return null;
  }
}
