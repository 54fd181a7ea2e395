package io.switchboard.mqtt;

import static io.switchboard.mqtt.MqttV5FeaturesTest.options;
import static io.switchboard.mqtt.MqttV5FeaturesTest.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.mqtt.MqttV5FeaturesTest.Received;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * MQTT 5 sessions with Eclipse Paho's v5 client: resumed after a normal DISCONNECT until their
 * expiry, an expiry a DISCONNECT changes, and the will delay cut short by the session's end.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MqttV5SessionTest {
  static final Duration WAIT = MqttV5FeaturesTest.WAIT;

  /** The server and the client helpers. */
  final MqttV5FeaturesTest on = new MqttV5FeaturesTest();

  @BeforeEach
  void start(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    on.dir = dir;
    on.start(Map.of());
  }

  @AfterEach
  void stop() {
    on.stop();
  }

  /** Connects a fresh client {@code id}; returns whether the server had a session for it. */
  boolean connect(MqttClient c, MqttConnectionOptions o) throws Exception {
    return c.connectWithResult(o).getSessionPresent();
  }

  void publishQos1(String topic, String payload) throws Exception {
    on.publish(topic, text(payload), null);
  }

  @Test
  void aSessionOutlivesANormalDisconnectAndKeepsWhatArrivedMeanwhile() throws Exception {
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    MqttClient c = on.client("resume-1", inbox);
    assertThat(connect(c, options(true, 300L))).isFalse();
    c.subscribe("jobs/#", 1);
    c.disconnect(); // a normal DISCONNECT: the session stays for its 300 s
    for (int i = 0; i < 3; i++) {
      publishQos1("jobs/" + i, "j" + i);
    }
    assertThat(connect(c, options(false, 300L))).as("session present").isTrue();
    await().atMost(WAIT).until(() -> inbox.size() == 3);
    assertThat(inbox).extracting(Received::text).containsExactly("j0", "j1", "j2");
    c.disconnect();
    c.close();
  }

  @Test
  void aReconnectWithoutAnExpiryResumesTheSessionWhichThenEndsWithThatConnection()
      throws Exception {
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    MqttClient c = on.client("resume-2", inbox);
    connect(c, options(true, 300L));
    c.subscribe("jobs/#", 1);
    c.disconnect();
    publishQos1("jobs/a", "while-away");
    assertThat(connect(c, options(false, null))).as("resumed with no expiry property").isTrue();
    await().atMost(WAIT).until(() -> inbox.size() == 1);
    assertThat(inbox.poll().text()).isEqualTo("while-away");
    publishQos1("jobs/b", "live");
    await().atMost(WAIT).until(() -> inbox.size() == 1);
    c.disconnect(); // interval 0 now: the session ends here
    publishQos1("jobs/c", "after-the-end");
    assertThat(connect(c, options(false, 300L))).as("no session any more").isFalse();
    c.disconnect();
    c.close();
  }

  @Test
  void aDisconnectMayEndTheSessionAtOnceByGivingItExpiryZero() throws Exception {
    MqttAsyncClient c = new MqttAsyncClient(on.uri(), "resume-3", new MemoryPersistence());
    c.connect(options(true, 300L)).waitForCompletion(10_000);
    c.subscribe("jobs/#", 1).waitForCompletion(10_000);
    MqttProperties zero = new MqttProperties();
    zero.setSessionExpiryInterval(0L);
    c.disconnect(10_000, null, null, 0, zero).waitForCompletion(10_000);
    var again = c.connect(options(false, 300L));
    again.waitForCompletion(10_000);
    assertThat(again.getSessionPresent()).isFalse();
    c.disconnect().waitForCompletion(10_000);
    c.close();
  }

  @Test
  void aDisconnectGivingAnExpiryAfterZeroIsAProtocolError() throws Exception {
    // Paho cannot be made to send this; raw: CONNECT without an expiry, DISCONNECT with 60 s.
    try (RawMqtt raw = new RawMqtt(on.port, 10_000).connectedV5("zero-then-60")) {
      raw.send(RawMqtt.packet(0xE0, RawMqtt.bytes(0, 5, 0x11, 0, 0, 0, 60)));
      RawMqtt.Packet p = raw.read();
      assertThat(p.type()).as("DISCONNECT").isEqualTo(14);
      assertThat(p.reason()).as("Protocol Error").isEqualTo(0x82);
    }
    MqttClient c = on.client("zero-then-60", new ConcurrentLinkedQueue<>());
    assertThat(connect(c, options(false, 300L))).as("no session was kept").isFalse();
    c.disconnect();
    c.close();
  }

  /**
   * A client with a will on {@code will/<id>} delayed {@code delay} s, dropped without DISCONNECT.
   */
  void dropWithWill(String id, long delaySeconds, Long sessionExpiry) throws Exception {
    MqttAsyncClient c = new MqttAsyncClient(on.uri(), id, new MemoryPersistence());
    MqttConnectionOptions o = options(true, sessionExpiry);
    o.setWill("will/" + id, new MqttMessage(text("gone")));
    MqttProperties willProps = new MqttProperties();
    willProps.setWillDelayInterval(delaySeconds);
    o.setWillMessageProperties(willProps);
    c.connect(o).waitForCompletion(10_000);
    c.disconnectForcibly(0, 1_000, false); // no DISCONNECT: the connection just drops
    c.close();
  }

  @Test
  void aDelayedWillIsPublishedWhenTheSessionEndsIfThatComesFirst() throws Exception {
    ConcurrentLinkedQueue<Received> wills = new ConcurrentLinkedQueue<>();
    MqttClient watcher = on.client("watcher", wills);
    watcher.connect(options(true, null));
    watcher.subscribe("will/#", 1);
    long startNs = System.nanoTime();
    dropWithWill("ends-in-1s", 3600, 1L); // the session ends after 1 s, the delay after an hour
    dropWithWill("no-session", 3600, null); // no session: it ends with the connection
    await().atMost(WAIT).until(() -> wills.size() == 2);
    assertThat(wills)
        .extracting(Received::topic)
        .containsExactlyInAnyOrder("will/ends-in-1s", "will/no-session");
    assertThat(System.nanoTime() - startNs).isLessThan(TimeUnit.SECONDS.toNanos(20));
    watcher.disconnect();
    watcher.close();
  }

  @Test
  void aDelayedWillWaitsForItsDelayWhenTheSessionLastsLonger() throws Exception {
    ConcurrentLinkedQueue<Received> wills = new ConcurrentLinkedQueue<>();
    MqttClient watcher = on.client("watcher-2", wills);
    watcher.connect(options(true, null));
    watcher.subscribe("will/#", 1);
    long droppedNs = System.nanoTime();
    dropWithWill("delay-1s", 1, 3600L);
    await().atMost(WAIT).until(() -> wills.size() == 1);
    assertThat(System.nanoTime() - droppedNs)
        .as("not before its 1 s delay")
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(900));
    assertThat(List.copyOf(wills)).extracting(Received::topic).containsExactly("will/delay-1s");
    watcher.disconnect();
    watcher.close();
  }

  /** A manually acknowledging client {@code id} of a persistent session on {@code jobs/#}. */
  MqttAsyncClient manualAcks(String id, ConcurrentLinkedQueue<Received> inbox, boolean clean)
      throws Exception {
    MqttAsyncClient c = new MqttAsyncClient(on.uri(), id, new MemoryPersistence());
    c.setManualAcks(true);
    c.setCallback(on.callback(inbox));
    c.connect(options(clean, 300L)).waitForCompletion(10_000);
    return c;
  }

  static List<String> seen(ConcurrentLinkedQueue<Received> inbox) {
    return inbox.stream().map(Received::text).toList();
  }

  @Test
  void unacknowledgedDeliveriesComeBackOnceEachInOrderAndAcknowledgedOnesNever() throws Exception {
    ConcurrentLinkedQueue<Received> first = new ConcurrentLinkedQueue<>();
    MqttAsyncClient c = manualAcks("redeliver-1", first, true);
    c.subscribe("jobs/#", 1).waitForCompletion(10_000);
    for (int i = 0; i < 5; i++) {
      publishQos1("jobs/" + i, "j" + i);
    }
    await().atMost(WAIT).until(() -> first.size() == 5);
    for (Received r : first) {
      if (r.text().equals("j0") || r.text().equals("j1")) {
        c.messageArrivedComplete(r.message().getId(), 1);
      }
    }
    // A QoS 1 publish of its own, acknowledged, follows the two PUBACKs on the same socket: by
    // then the server has read them. Then the connection drops without DISCONNECT.
    c.publish("barrier/redeliver-1", text("b"), 1, false).waitForCompletion(10_000);
    c.disconnectForcibly(0, 1_000, false);
    c.close();

    ConcurrentLinkedQueue<Received> again = new ConcurrentLinkedQueue<>();
    MqttAsyncClient back = manualAcks("redeliver-1", again, false);
    await().atMost(WAIT).until(() -> again.size() >= 3);
    publishQos1("jobs/5", "j5");
    publishQos1("jobs/marker", "marker");
    await().atMost(WAIT).until(() -> again.stream().anyMatch(r -> r.text().equals("marker")));
    // (Paho's v5 client does not show the DUP flag: RawMqttSessionTest reads it off the wire.)
    assertThat(seen(again)).containsExactly("j2", "j3", "j4", "j5", "marker");
    back.disconnect().waitForCompletion(10_000);
    back.close();
  }

  @Test
  void aDeliveryHeldUnacknowledgedPastTheAckTimeoutIsNotSentAgainOnTheSameConnection()
      throws Exception {
    ConcurrentLinkedQueue<Received> inbox = new ConcurrentLinkedQueue<>();
    MqttAsyncClient c = manualAcks("slow-acker", inbox, true);
    c.subscribe("jobs/#", 1).waitForCompletion(10_000);
    publishQos1("jobs/held", "held");
    await().atMost(WAIT).until(() -> inbox.size() == 1);
    long heldNs = System.nanoTime();
    long timeoutNs = TimeUnit.MILLISECONDS.toNanos(MqttSessions.SESSION_ACK_TIMEOUT_MS + 1_000);
    await().atMost(WAIT).until(() -> System.nanoTime() - heldNs > timeoutNs);
    publishQos1("jobs/next", "next");
    await().atMost(WAIT).until(() -> inbox.stream().anyMatch(r -> r.text().equals("next")));
    assertThat(seen(inbox)).containsExactly("held", "next");
    c.disconnect().waitForCompletion(10_000);
    c.close();
  }
}
