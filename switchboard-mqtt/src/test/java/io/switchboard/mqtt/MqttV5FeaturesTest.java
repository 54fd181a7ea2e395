package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT 5 features a client library sees (Eclipse Paho's v5 client, raw packets where it cannot say
 * it), against a server on a random loopback port.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MqttV5FeaturesTest {
  @TempDir Path dir;
  SwitchboardServer server;
  int port;

  void start(Map<String, String> settings) throws Exception {
    Map<String, String> flags = new HashMap<>(settings);
    flags.put(ConfigCatalogue.DATA_DIR.name(), dir.toString());
    flags.put(NativeKeys.PORT.name(), "-1");
    flags.put(MqttFrontEnd.PORT.name(), "0");
    server = SwitchboardServer.startOnFreePorts(flags);
    port = server.addresses().get("mqtt").getPort();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  String uri() {
    return "tcp://127.0.0.1:" + port;
  }

  @Test
  void aClientAskingForALongerKeepAliveIsToldTheServersAndHeldToIt() throws Exception {
    start(Map.of(MqttFrontEnd.MAX_KEEP_ALIVE.name(), "1"));
    MqttClient paho = new MqttClient(uri(), "ka-paho", new MemoryPersistence());
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setKeepAliveInterval(60);
    var token = paho.connectWithResult(o);
    assertThat(token.getResponseProperties().getServerKeepAlive()).isEqualTo(1);
    paho.disconnect();
    paho.close();

    // Keep-alive 0 (none) is more than 1 s as well; a silent client is then cut off after 1.5 s.
    try (RawMqtt raw = new RawMqtt(port, 10_000)) {
      raw.send(RawMqtt.connectV5("ka-raw"));
      RawMqtt.Packet ack = raw.read();
      assertThat(RawMqtt.property(ack, 0x13)).as("Server Keep Alive").isEqualTo(1);
      RawMqtt.Packet p = raw.read();
      assertThat(p.type()).as("DISCONNECT").isEqualTo(14);
      assertThat(p.reason()).as("Keep Alive timeout").isEqualTo(0x8D);
    }
  }

  @Test
  void aClientWithinTheMaximumKeepsItsKeepAlive() throws Exception {
    start(Map.of(MqttFrontEnd.MAX_KEEP_ALIVE.name(), "60"));
    MqttClient paho = new MqttClient(uri(), "ka-ok", new MemoryPersistence());
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setKeepAliveInterval(30);
    var token = paho.connectWithResult(o);
    assertThat(token.getResponseProperties().getServerKeepAlive()).isNull();
    paho.disconnect();
    paho.close();
  }

  static final Duration WAIT = Duration.ofSeconds(20);

  /** One message as a client received it. */
  record Received(String topic, MqttMessage message) {
    String text() {
      return new String(message.getPayload(), StandardCharsets.UTF_8);
    }
  }

  /** A v5 client, not connected yet, whose messages land in {@code inbox}. */
  MqttClient client(String id, ConcurrentLinkedQueue<Received> inbox) throws MqttException {
    MqttClient c = new MqttClient(uri(), id, new MemoryPersistence());
    c.setCallback(callback(inbox));
    return c;
  }

  /** A callback that puts each received message in {@code inbox}. */
  MqttCallback callback(ConcurrentLinkedQueue<Received> inbox) {
    return new MqttCallback() {
      @Override
      public void disconnected(MqttDisconnectResponse r) {}

      @Override
      public void mqttErrorOccurred(MqttException e) {}

      @Override
      public void messageArrived(String topic, MqttMessage m) {
        inbox.add(new Received(topic, m));
      }

      @Override
      public void deliveryComplete(IMqttToken t) {}

      @Override
      public void connectComplete(boolean reconnect, String serverUri) {}

      @Override
      public void authPacketArrived(int reason, MqttProperties p) {}
    };
  }

  static MqttConnectionOptions options(boolean cleanStart, Long sessionExpiry) {
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setCleanStart(cleanStart);
    o.setSessionExpiryInterval(sessionExpiry);
    return o;
  }

  /** Publishes from a client of its own, QoS 1; {@code expirySeconds} null for none. */
  void publish(String topic, byte[] payload, Long expirySeconds) throws Exception {
    MqttClient p = new MqttClient(uri(), "pub-" + System.nanoTime(), new MemoryPersistence());
    p.connect();
    MqttMessage m = new MqttMessage(payload);
    m.setQos(1);
    if (expirySeconds != null) {
      MqttProperties props = new MqttProperties();
      props.setMessageExpiryInterval(expirySeconds);
      m.setProperties(props);
    }
    p.publish(topic, m);
    p.disconnect();
    p.close();
  }

  static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aMessageQueuedForAnOfflineSessionExpiresOrCarriesWhatIsLeftOfItsInterval() throws Exception {
    start(Map.of());
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    MqttClient sub = client("expiry", inbox);
    sub.connect(options(true, 300L));
    sub.subscribe("news/#", 1);
    publish("news/live", text("live"), 30L);
    await().atMost(WAIT).until(() -> inbox.size() == 1);
    Received live = inbox.poll();
    assertThat(live.message().getProperties().getMessageExpiryInterval()).isEqualTo(30L);
    assertThat(live.message().getProperties().getUserProperties())
        .as("no internal header turned into a user property")
        .isEmpty();
    sub.disconnect();

    publish("news/short", text("short"), 1L);
    publish("news/long", text("long"), 30L);
    long publishedNs = System.nanoTime();
    // Let the short one's second run out (and more than a second of the long one's pass).
    await()
        .atMost(WAIT)
        .until(() -> System.nanoTime() - publishedNs > TimeUnit.MILLISECONDS.toNanos(1_500));
    sub.connect(options(false, 300L));
    await().atMost(WAIT).until(() -> !inbox.isEmpty());
    publish("news/marker", text("marker"), null);
    await().atMost(WAIT).until(() -> inbox.stream().anyMatch(r -> r.text().equals("marker")));
    assertThat(inbox).extracting(Received::text).containsExactly("long", "marker");
    Long left = inbox.peek().message().getProperties().getMessageExpiryInterval();
    assertThat(left).as("what is left of 30 s after more than 1.5 s").isBetween(1L, 29L);
    sub.disconnect();
    sub.close();
  }

  @Test
  void aMessageLargerThanTheClientsMaximumPacketSizeIsSkippedAndSmallOnesStillArrive()
      throws Exception {
    start(Map.of());
    ConcurrentLinkedQueue<Received> live = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Received> kept = new ConcurrentLinkedQueue<>();
    MqttClient small = client("small-live", live);
    MqttConnectionOptions o = options(true, null);
    o.setMaximumPacketSize(100L);
    small.connect(o);
    small.subscribe("size/#", 1);
    // The same limit through a persistent session's inbox.
    MqttClient session = client("small-kept", kept);
    MqttConnectionOptions so = options(true, 300L);
    so.setMaximumPacketSize(100L);
    session.connect(so);
    session.subscribe("size/#", 1);

    // 40 payload bytes and a message expiry interval: 59 bytes on the wire, well within 100.
    publish("size/a", new byte[40], 60L);
    publish("size/b", new byte[200], null); // 211 bytes: more than the client accepts
    publish("size/c", text("after"), null);
    await().atMost(WAIT).until(() -> live.size() == 2 && kept.size() == 2);
    assertThat(live).extracting(Received::topic).containsExactly("size/a", "size/c");
    assertThat(kept).extracting(Received::topic).containsExactly("size/a", "size/c");
    assertThat(small.isConnected()).isTrue();
    assertThat(session.isConnected()).isTrue();
    small.disconnect();
    session.disconnect();
    small.close();
    session.close();
  }

  /** Subscribes {@code filter} at {@code qos} with subscription identifier {@code id}. */
  static void subscribe(MqttAsyncClient c, String filter, int qos, int id) throws Exception {
    MqttProperties props = new MqttProperties();
    props.setSubscriptionIdentifier(id);
    c.subscribe(
            new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
              new org.eclipse.paho.mqttv5.common.MqttSubscription(filter, qos)
            },
            null,
            null,
            props)
        .waitForCompletion(10_000);
  }

  /** {@code filters} (with identifiers 1, 2, ...) overlap on {@code o/x}: what arrives? */
  List<String> overlapping(String id, Long sessionExpiry, int... qos) throws Exception {
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    MqttAsyncClient c = new MqttAsyncClient(uri(), id, new MemoryPersistence());
    c.setCallback(callback(inbox));
    c.connect(options(true, sessionExpiry)).waitForCompletion(10_000);
    subscribe(c, "o/+", qos[0], 1);
    subscribe(c, "o/#", qos[1], 2);
    subscribe(c, "other/#", 1, 3);
    publish("o/x", text("both"), null); // QoS 1
    publish("o/marker", text("marker"), null);
    await()
        .atMost(WAIT)
        .until(() -> inbox.stream().filter(r -> r.text().equals("marker")).count() >= 1);
    List<String> got =
        inbox.stream()
            .filter(r -> r.topic().equals("o/x"))
            .map(
                r ->
                    r.text()
                        + "@"
                        + r.message().getQos()
                        + r.message().getProperties().getSubscriptionIdentifiers())
            .toList();
    c.disconnect().waitForCompletion(10_000);
    c.close();
    return got;
  }

  @Test
  void overlappingSubscriptionsGetOneCopyAtTheHighestQosWithEveryIdentifier() throws Exception {
    start(Map.of());
    assertThat(overlapping("overlap-live", null, 0, 1)).containsExactly("both@1[1, 2]");
    assertThat(overlapping("overlap-live-2", null, 1, 0)).containsExactly("both@1[1, 2]");
  }

  @Test
  void overlappingSubscriptionsOfAStoredSessionGetOneCopyToo() throws Exception {
    start(Map.of());
    // Both through the session's inbox, and one live (QoS 0) with one through the inbox.
    assertThat(overlapping("overlap-kept", 300L, 1, 2)).containsExactly("both@1[1, 2]");
    assertThat(overlapping("overlap-mixed", 300L, 0, 1)).containsExactly("both@1[1, 2]");
    assertThat(overlapping("overlap-zero", 300L, 0, 0)).containsExactly("both@0[1, 2]");
  }
}
