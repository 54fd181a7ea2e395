package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Persistent sessions: what arrives while a client is away is delivered when it returns. */
class MqttSessionsTest {
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

  String uri() {
    return "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort();
  }

  /** Connects {@code id}; received payloads go to {@code inbox}; returns session present. */
  boolean connect(MqttClient c, boolean clean, ConcurrentLinkedQueue<String> inbox)
      throws Exception {
    c.setCallback(
        new MqttCallback() {
          @Override
          public void connectionLost(Throwable cause) {}

          @Override
          public void messageArrived(String topic, MqttMessage m) {
            inbox.add(topic + "=" + new String(m.getPayload(), StandardCharsets.UTF_8));
          }

          @Override
          public void deliveryComplete(IMqttDeliveryToken token) {}
        });
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(clean);
    return c.connectWithResult(o).getSessionPresent();
  }

  void publish(String topic, String payload) throws Exception {
    MqttClient p = new MqttClient(uri(), "pub-" + System.nanoTime(), new MemoryPersistence());
    p.connect();
    p.publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1, false);
    p.disconnect();
    p.close();
  }

  @Test
  void messagesPublishedWhileAwayAreDeliveredOnReturnEvenAcrossARestart() throws Exception {
    ConcurrentLinkedQueue<String> inbox = new ConcurrentLinkedQueue<>();
    MqttClient c = new MqttClient(uri(), "durable-1", new MemoryPersistence());
    assertThat(connect(c, false, inbox)).as("no session yet").isFalse();
    c.subscribe("news/#", 1);
    publish("news/a", "while-here");
    await().atMost(Duration.ofSeconds(10)).until(() -> inbox.contains("news/a=while-here"));
    c.disconnect();
    c.close();

    publish("news/b", "while-away-1");
    publish("news/c", "while-away-2");
    // The broker restarts while the client is away: the session and its inbox survive.
    server.close();
    start();
    publish("news/d", "after-restart");

    ConcurrentLinkedQueue<String> again = new ConcurrentLinkedQueue<>();
    MqttClient back = new MqttClient(uri(), "durable-1", new MemoryPersistence());
    assertThat(connect(back, false, again)).as("session present").isTrue();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                again.containsAll(
                    java.util.List.of(
                        "news/b=while-away-1", "news/c=while-away-2", "news/d=after-restart")));
    assertThat(again).doesNotContain("news/a=while-here");
    back.disconnect();
    back.close();
  }

  @Test
  void aCleanSessionDiscardsWhatWasKept() throws Exception {
    ConcurrentLinkedQueue<String> inbox = new ConcurrentLinkedQueue<>();
    MqttClient c = new MqttClient(uri(), "durable-2", new MemoryPersistence());
    connect(c, false, inbox);
    c.subscribe("alerts/#", 1);
    c.disconnect();
    c.close();
    publish("alerts/x", "kept");

    ConcurrentLinkedQueue<String> clean = new ConcurrentLinkedQueue<>();
    MqttClient fresh = new MqttClient(uri(), "durable-2", new MemoryPersistence());
    assertThat(connect(fresh, true, clean)).as("a clean session starts empty").isFalse();
    fresh.subscribe("alerts/#", 1);
    publish("alerts/y", "new");
    await().atMost(Duration.ofSeconds(10)).until(() -> clean.contains("alerts/y=new"));
    assertThat(clean).doesNotContain("alerts/x=kept");
    fresh.disconnect();
    fresh.close();
  }

  long mqttBindings(String clientId) {
    return server.broker().bindings(MqttSessions.OWNER).stream()
        .filter(b -> clientId.equals(b.arguments().get("client")))
        .count();
  }

  @Test
  void subscriptionsAreTheBrokersBindingsRestoredByTheBrokerItselfAndOverlapsCopyOnce()
      throws Exception {
    ConcurrentLinkedQueue<String> inbox = new ConcurrentLinkedQueue<>();
    MqttClient c = new MqttClient(uri(), "durable-3", new MemoryPersistence());
    connect(c, false, inbox);
    c.subscribe("a/#", 1); // two subject patterns: "a" and "a.>"
    c.subscribe("a/x", 2);
    c.subscribe("b/+", 0); // live only: kept in the session's record, not a binding
    assertThat(mqttBindings("durable-3")).isEqualTo(3);
    c.disconnect();
    c.close();

    server.close();
    start();
    // The broker restored them before the front end (or any client) did anything.
    assertThat(mqttBindings("durable-3")).isEqualTo(3);
    publish("a/x", "away");

    ConcurrentLinkedQueue<String> again = new ConcurrentLinkedQueue<>();
    MqttClient back = new MqttClient(uri(), "durable-3", new MemoryPersistence());
    assertThat(connect(back, false, again)).isTrue();
    await().atMost(Duration.ofSeconds(20)).until(() -> again.contains("a/x=away"));
    publish("a/x", "marker"); // the inbox is in order: a second copy would come before this
    await().atMost(Duration.ofSeconds(20)).until(() -> again.contains("a/x=marker"));
    assertThat(again).filteredOn("a/x=away"::equals).hasSize(1);
    // The QoS 0 subscription came back with the session.
    MqttClient p = new MqttClient(uri(), "pub-q0", new MemoryPersistence());
    p.connect();
    p.publish("b/1", "live".getBytes(StandardCharsets.UTF_8), 0, false);
    await().atMost(Duration.ofSeconds(10)).until(() -> again.contains("b/1=live"));
    p.disconnect();
    p.close();

    back.unsubscribe("a/#");
    assertThat(mqttBindings("durable-3")).isEqualTo(1);
    back.disconnect();
    back.close();
    MqttClient fresh = new MqttClient(uri(), "durable-3", new MemoryPersistence());
    connect(fresh, true, new ConcurrentLinkedQueue<>());
    assertThat(mqttBindings("durable-3")).isZero();
    fresh.disconnect();
    fresh.close();
  }
}
