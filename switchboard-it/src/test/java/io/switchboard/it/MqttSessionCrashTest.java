package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An MQTT persistent session survives the broker being killed with SIGKILL: every QoS 1 message
 * acknowledged to its publisher while the subscriber was away is delivered when it reconnects.
 */
class MqttSessionCrashTest {
  static final int MESSAGES = 200;

  @TempDir Path dir;
  Process server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.destroyForcibly();
    }
  }

  static int freePort() {
    return io.switchboard.testkit.Ports.free();
  }

  Process start(int nativePort, int mqttPort) throws IOException {
    Process p =
        ChildJvm.start(
            ServerMain.class,
            dir.resolve("data").toString(),
            "" + nativePort,
            "mqtt.port=" + mqttPort);
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("READY")) {
      // noise before READY
    }
    assertThat(line).as("server start").isNotNull();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (out.readLine() != null) {
                  // drain
                }
              } catch (IOException e) {
                // gone
              }
            });
    return p;
  }

  MqttClient durable(String uri, Set<String> inbox) throws Exception {
    MqttClient c = new MqttClient(uri, "crash-durable", new MemoryPersistence());
    c.setCallback(
        new MqttCallback() {
          @Override
          public void connectionLost(Throwable cause) {}

          @Override
          public void messageArrived(String topic, MqttMessage m) {
            inbox.add(new String(m.getPayload(), StandardCharsets.UTF_8));
          }

          @Override
          public void deliveryComplete(IMqttDeliveryToken token) {}
        });
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(false);
    c.connect(o);
    return c;
  }

  @Test
  void aPersistentSessionSurvivesKillNine() throws Exception {
    int nativePort = freePort();
    int mqttPort = freePort();
    String uri = "tcp://127.0.0.1:" + mqttPort;
    server = start(nativePort, mqttPort);

    Set<String> inbox = ConcurrentHashMap.newKeySet();
    MqttClient sub = durable(uri, inbox);
    sub.subscribe("jobs/#", 1);
    sub.disconnect();
    sub.close();

    MqttClient pub = new MqttClient(uri, "crash-publisher", new MemoryPersistence());
    MqttConnectOptions po = new MqttConnectOptions();
    // Paho's synchronous publish can return before the client lowers its in-flight count
    // (eclipse-paho/paho.mqtt.java#551); on a busy machine the default window of 10 then fills
    // with publishes that are already acknowledged. Publishing stays one at a time.
    po.setMaxInflight(MESSAGES);
    pub.connect(po);
    for (int i = 0; i < MESSAGES; i++) {
      pub.publish("jobs/j" + i, ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false); // acked
    }
    pub.disconnect();
    pub.close();

    server.destroyForcibly(); // SIGKILL to this PID
    assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    server = start(nativePort, mqttPort);

    MqttClient back = durable(uri, inbox);
    await().atMost(Duration.ofSeconds(60)).until(() -> inbox.size() == MESSAGES);
    back.disconnect();
    back.close();
  }
}
