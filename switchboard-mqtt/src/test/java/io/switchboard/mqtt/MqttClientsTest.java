package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.config.ServerConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real MQTT clients (Eclipse Paho 3.1.1 and 5.0) against the server on random loopback ports. */
class MqttClientsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String mqttUri;
  String nativeAddress;

  @BeforeEach
  void start() throws Exception {
    var frontEnds = SwitchboardServer.discoverFrontEnds();
    ServerConfig config =
        ServerConfig.resolve(
            SwitchboardServer.configKeys(frontEnds),
            Map.of(),
            Map.of(),
            SwitchboardServer.onFreePorts(
                Map.of(
                    ConfigCatalogue.DATA_DIR.name(), dir.toString(),
                    NativeKeys.PORT.name(), "0",
                    MqttFrontEnd.PORT.name(), "0")));
    server = SwitchboardServer.start(config, frontEnds);
    mqttUri = "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort();
    nativeAddress = "127.0.0.1:" + server.addresses().get("native").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  MqttClient v3(String id) throws MqttException {
    MqttClient c = new MqttClient(mqttUri, id, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(true);
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    c.connect(o);
    return c;
  }

  /** A v5 client whose received messages land in {@code inbox}. */
  org.eclipse.paho.mqttv5.client.MqttClient v5(String id, ConcurrentLinkedQueue<Received> inbox)
      throws Exception {
    var c =
        new org.eclipse.paho.mqttv5.client.MqttClient(
            mqttUri, id, new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
    c.setCallback(
        new MqttCallback() {
          @Override
          public void disconnected(MqttDisconnectResponse r) {}

          @Override
          public void mqttErrorOccurred(org.eclipse.paho.mqttv5.common.MqttException e) {}

          @Override
          public void messageArrived(String topic, MqttMessage m) {
            inbox.add(new Received(topic, m));
          }

          @Override
          public void deliveryComplete(IMqttToken t) {}

          @Override
          public void connectComplete(boolean reconnect, String uri) {}

          @Override
          public void authPacketArrived(int reason, MqttProperties p) {}
        });
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setCleanStart(true);
    c.connect(o);
    return c;
  }

  record Received(String topic, MqttMessage message) {
    String text() {
      return new String(message.getPayload(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void v3ClientsExchangeMessagesAtEveryQos() throws Exception {
    ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
    MqttClient sub = v3("sub-3");
    MqttClient pub = v3("pub-3");
    try {
      sub.subscribe(
          "home/+/temp",
          2,
          (topic, m) ->
              got.add(
                  topic
                      + "="
                      + new String(m.getPayload(), StandardCharsets.UTF_8)
                      + "@"
                      + m.getQos()));
      for (int qos = 0; qos <= 2; qos++) {
        pub.publish("home/kitchen/temp", ("q" + qos).getBytes(StandardCharsets.UTF_8), qos, false);
      }
      pub.publish("home/kitchen/humidity", "no".getBytes(StandardCharsets.UTF_8), 1, false);
      await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 3);
      assertThat(got)
          .containsExactly(
              "home/kitchen/temp=q0@0", "home/kitchen/temp=q1@1", "home/kitchen/temp=q2@2");
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
  }

  @Test
  void v5PropertiesTravelAsHeadersAndAcrossProtocols() throws Exception {
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<LiveMessage> nativeGot = new ConcurrentLinkedQueue<>();
    var mqtt = v5("v5-a", inbox);
    try (SwitchboardClient nat = SwitchboardClient.connect(nativeAddress)) {
      mqtt.subscribe("orders/#", 1);
      nat.subscribe("orders.>", nativeGot::add);
      // MQTT -> native, with a user property and a content type.
      MqttMessage m = new MqttMessage("{\"id\":1}".getBytes(StandardCharsets.UTF_8));
      m.setQos(1);
      MqttProperties p = new MqttProperties();
      p.setUserProperties(List.of(new UserProperty("tenant", "acme")));
      p.setContentType("application/json");
      m.setProperties(p);
      mqtt.publish("orders/eu/created", m);
      await().atMost(Duration.ofSeconds(10)).until(() -> !nativeGot.isEmpty());
      LiveMessage n = nativeGot.peek();
      assertThat(n.subject()).isEqualTo("orders.eu.created");
      assertThat(n.headers())
          .anySatisfy(
              h ->
                  assertThat(h.key() + "=" + new String(h.value(), StandardCharsets.UTF_8))
                      .isEqualTo("tenant=acme"))
          .anySatisfy(h -> assertThat(h.key()).isEqualTo("content-type"));
      // native -> MQTT, headers become user properties.
      nat.publish(PublishBuilder.to("orders.us.paid", "paid").header("tenant", "globex"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> inbox.stream().anyMatch(r -> r.topic().equals("orders/us/paid")));
      Received r =
          inbox.stream().filter(x -> x.topic().equals("orders/us/paid")).findFirst().orElseThrow();
      assertThat(r.text()).isEqualTo("paid");
      assertThat(r.message().getProperties().getUserProperties())
          .anySatisfy(u -> assertThat(u.getKey() + "=" + u.getValue()).isEqualTo("tenant=globex"));
      // The parent of "orders/#" matches too, as MQTT says.
      nat.publish("orders", "parent".getBytes(StandardCharsets.UTF_8));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> inbox.stream().anyMatch(x -> x.topic().equals("orders")));
    } finally {
      mqtt.disconnect();
    }
  }

  @Test
  void noLocalKeepsAClientsOwnMessagesAwayAndSubscriptionIdentifiersComeBack() throws Exception {
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    var a = v5("chat-a", inbox);
    var b = v5("chat-b", new ConcurrentLinkedQueue<>());
    try {
      org.eclipse.paho.mqttv5.common.MqttSubscription sub =
          new org.eclipse.paho.mqttv5.common.MqttSubscription("chat/#", 1);
      sub.setNoLocal(true);
      a.subscribe(new org.eclipse.paho.mqttv5.common.MqttSubscription[] {sub});
      var async =
          new org.eclipse.paho.mqttv5.client.MqttAsyncClient(
              mqttUri, "chat-c", new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
      ConcurrentLinkedQueue<Received> cInbox = new ConcurrentLinkedQueue<>();
      async.setCallback(
          new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse r) {}

            @Override
            public void mqttErrorOccurred(org.eclipse.paho.mqttv5.common.MqttException e) {}

            @Override
            public void messageArrived(String topic, MqttMessage m) {
              cInbox.add(new Received(topic, m));
            }

            @Override
            public void deliveryComplete(IMqttToken t) {}

            @Override
            public void connectComplete(boolean reconnect, String uri) {}

            @Override
            public void authPacketArrived(int reason, MqttProperties p) {}
          });
      async.connect().waitForCompletion(10_000);
      MqttProperties subProps = new MqttProperties();
      subProps.setSubscriptionIdentifier(42);
      async
          .subscribe(
              new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
                new org.eclipse.paho.mqttv5.common.MqttSubscription("chat/#", 1)
              },
              null,
              null,
              subProps)
          .waitForCompletion(10_000);

      a.publish("chat/room", new MqttMessage("from-a".getBytes(StandardCharsets.UTF_8)));
      b.publish("chat/room", new MqttMessage("from-b".getBytes(StandardCharsets.UTF_8)));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> inbox.stream().anyMatch(r -> r.text().equals("from-b")));
      await().atMost(Duration.ofSeconds(10)).until(() -> cInbox.size() == 2);
      assertThat(inbox).extracting(Received::text).doesNotContain("from-a");
      assertThat(cInbox)
          .allSatisfy(
              r ->
                  assertThat(r.message().getProperties().getSubscriptionIdentifiers())
                      .contains(42));
      async.disconnect().waitForCompletion(10_000);
      async.close();
    } finally {
      a.disconnect();
      b.disconnect();
    }
  }

  @Test
  void anMqttResponderAnswersANativeRequest() throws Exception {
    ConcurrentLinkedQueue<Received> requests = new ConcurrentLinkedQueue<>();
    var listener = v5("listener", requests);
    listener.subscribe("svc/echo", 1);
    try (SwitchboardClient nat = SwitchboardClient.connect(nativeAddress)) {
      var pending =
          nat.request("svc.echo", "ping".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> !requests.isEmpty());
      Received req = requests.peek();
      String responseTopic = req.message().getProperties().getResponseTopic();
      byte[] correlation = req.message().getProperties().getCorrelationData();
      assertThat(responseTopic).isNotNull();
      MqttMessage answer = new MqttMessage("pong".getBytes(StandardCharsets.UTF_8));
      MqttProperties ap = new MqttProperties();
      ap.setCorrelationData(correlation);
      answer.setProperties(ap);
      listener.publish(responseTopic, answer);
      Reply reply = pending.join();
      assertThat(new String(reply.payload(), StandardCharsets.UTF_8)).isEqualTo("pong");
    } finally {
      listener.disconnect();
    }
  }

  @Test
  void retainedMessagesGoToNewSubscribersSurviveARestartAndAreClearedByAnEmptyPayload()
      throws Exception {
    MqttClient pub = v3("retainer");
    pub.publish("home/status", "on".getBytes(StandardCharsets.UTF_8), 1, true);
    pub.publish("home/mode", "eco".getBytes(StandardCharsets.UTF_8), 1, true);
    pub.publish("home/mode", "away".getBytes(StandardCharsets.UTF_8), 1, true); // replaces
    pub.disconnect();
    assertThat(retainedSeenBy("home/#"))
        .containsExactlyInAnyOrder("home/status=on", "home/mode=away");

    // A restart keeps them: they live in a compacted stream.
    server.close();
    start();
    assertThat(retainedSeenBy("home/+"))
        .containsExactlyInAnyOrder("home/status=on", "home/mode=away");

    MqttClient clearer = v3("clearer");
    clearer.publish("home/status", new byte[0], 1, true);
    clearer.disconnect();
    assertThat(retainedSeenBy("home/#")).containsExactly("home/mode=away");
  }

  /** What a fresh subscriber to {@code filter} receives with the retain flag, once settled. */
  List<String> retainedSeenBy(String filter) throws Exception {
    ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
    MqttClient sub = v3("reader-" + System.nanoTime());
    try {
      sub.subscribe(
          filter,
          1,
          (topic, m) -> {
            if (m.isRetained()) {
              got.add(topic + "=" + new String(m.getPayload(), StandardCharsets.UTF_8));
            }
          });
      // Retained messages follow the SUBACK in order; a live marker published afterwards on the
      // same connection's filter arrives after them.
      String marker = filter.replace("#", "marker").replace("+", "marker");
      ConcurrentLinkedQueue<String> markers = new ConcurrentLinkedQueue<>();
      sub.subscribe(marker, 0, (t, m) -> markers.add(t));
      MqttClient p = v3("marker-" + System.nanoTime());
      p.publish(marker, new byte[] {1}, 0, false);
      p.disconnect();
      await().atMost(Duration.ofSeconds(10)).until(() -> !markers.isEmpty());
      return List.copyOf(got);
    } finally {
      sub.disconnect();
    }
  }

  @Test
  void sysTopicsReportTheBrokerAndOnlyToFiltersThatNameThem() throws Exception {
    ConcurrentLinkedQueue<String> sys = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> all = new ConcurrentLinkedQueue<>();
    // Two connections: Paho routes a message to every matching listener of one client itself.
    MqttClient everything = v3("hash-reader");
    everything.subscribe("#", 0, (t, m) -> all.add(t));
    MqttClient c = v3("sys-reader");
    c.subscribe(
        "$SYS/broker/#",
        0,
        (t, m) -> sys.add(t + "=" + new String(m.getPayload(), StandardCharsets.UTF_8)));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> sys.stream().anyMatch(x -> x.startsWith("$SYS/broker/clients/connected=")));
    assertThat(sys).anySatisfy(x -> assertThat(x).startsWith("$SYS/broker/version=switchboard"));
    // A marker published after the $SYS updates reached the other client: "#" saw no $ topic.
    c.publish("marker/x", new byte[] {1}, 1, false);
    await().atMost(Duration.ofSeconds(10)).until(() -> all.contains("marker/x"));
    assertThat(all).noneMatch(t -> t.startsWith("$"));
    c.disconnect();
    everything.disconnect();
  }

  @Test
  void aSecondConnectionWithTheSameClientIdTakesOver() throws Exception {
    MqttClient first = v3("same-id");
    MqttClient second = v3("same-id");
    await().atMost(Duration.ofSeconds(10)).until(() -> !first.isConnected());
    assertThat(second.isConnected()).isTrue();
    second.publish("takeover/ok", new byte[] {1}, 1, false);
    second.disconnect();
    first.close();
  }

  @Test
  void theWillIsPublishedWhenAClientVanishesWithoutDisconnect() throws Exception {
    ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
    MqttClient watcher = v3("watcher");
    watcher.subscribe(
        "status/#",
        1,
        (t, m) -> got.add(t + "=" + new String(m.getPayload(), StandardCharsets.UTF_8)));
    int port = server.addresses().get("mqtt").getPort();
    // CONNECT 3.1.1: clean session, will flag, will QoS 1, keep-alive 0, id "w", will
    // topic "status/w", will message "offline".
    byte[] connect = {
      0x10, 32, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x0E, 0, 0, 0, 1, 'w', 0, 8, 's', 't', 'a', 't', 'u',
      's', '/', 'w', 0, 7, 'o', 'f', 'f', 'l', 'i', 'n', 'e'
    };
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream().write(connect);
      s.getOutputStream().flush();
      byte[] connack = s.getInputStream().readNBytes(4);
      assertThat(connack).containsExactly(0x20, 0x02, 0x00, 0x00);
    } // closed without DISCONNECT
    await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("status/w=offline"));
    watcher.disconnect();
  }

  @Test
  void aPacketBeforeConnectClosesTheConnectionAndOthersCarryOn() throws Exception {
    int port = server.addresses().get("mqtt").getPort();
    try (Socket s = new Socket("127.0.0.1", port)) {
      OutputStream out = s.getOutputStream();
      out.write(new byte[] {(byte) 0xC0, 0x00}); // PINGREQ before CONNECT
      out.flush();
      InputStream in = s.getInputStream();
      assertThat(in.read()).as("closed without an answer").isEqualTo(-1);
    }
    MqttClient ok = v3("still-fine");
    assertThat(ok.isConnected()).isTrue();
    ok.disconnect();
  }
}
