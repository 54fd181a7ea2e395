package io.switchboard.mqtt;

import static io.switchboard.mqtt.RawMqtt.bytes;
import static io.switchboard.mqtt.RawMqtt.packet;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.util.ReferenceCountUtil;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.ProtocolMeters;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed SUBSCRIBE, UNSUBSCRIBE and CONNECT packets and out-of-range topic aliases, sent raw (no
 * client library sends them): each gets its reason code at once, is counted as bad input, and other
 * clients carry on.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MqttMalformedPacketTest {
  /** Well under the 10 s CONNECT timeout: an answer must come at once, not from that timer. */
  static final int READ_TIMEOUT_MS = 3_000;

  @TempDir Path dir;
  SwitchboardServer server;
  int port;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(), dir.toString(),
                NativeKeys.PORT.name(), "-1",
                MqttFrontEnd.PORT.name(), "0"));
    port = server.addresses().get("mqtt").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void assertOthersCarryOn() throws Exception {
    MqttClient ok = new MqttClient("tcp://127.0.0.1:" + port, "ok", new MemoryPersistence());
    ok.connect();
    ok.publish("still/fine", new byte[] {1}, 1, false);
    ok.disconnect();
    ok.close();
  }

  /** A v5 client sends {@code bad}: the answer is a DISCONNECT with {@code reason}, then close. */
  void assertV5DisconnectFor(byte[] bad, int reason) throws Exception {
    try (RawMqtt c = new RawMqtt(port, READ_TIMEOUT_MS).connectedV5("bad")) {
      c.send(bad);
      RawMqtt.Packet p = c.read();
      assertThat(p.type()).as("DISCONNECT").isEqualTo(14);
      assertThat(p.reason()).as("reason code").isEqualTo(reason);
      assertThat(c.closed()).isTrue();
    }
    assertOthersCarryOn();
  }

  @Test
  void aV5SubscribeWithAnEmptyFilterGetsTopicFilterInvalid() throws Exception {
    // SUBSCRIBE, packet id 1, no properties, filter "" at QoS 1.
    assertV5DisconnectFor(packet(0x82, bytes(0, 1, 0, "", 1)), 0x8F);
  }

  @Test
  void aV5SubscribeWithAMultiLevelWildcardInTheMiddleGetsTopicFilterInvalid() throws Exception {
    assertV5DisconnectFor(packet(0x82, bytes(0, 1, 0, "a/#/b", 1)), 0x8F);
  }

  @Test
  void aV5SubscribeWithoutFiltersIsAProtocolError() throws Exception {
    assertV5DisconnectFor(packet(0x82, bytes(0, 1, 0)), 0x82);
  }

  @Test
  void aV5UnsubscribeWithoutFiltersIsAProtocolError() throws Exception {
    assertV5DisconnectFor(packet(0xA2, bytes(0, 1, 0)), 0x82);
  }

  @Test
  void aV311SubscribeWithoutFiltersClosesTheConnectionWithoutASuback() throws Exception {
    try (RawMqtt c = new RawMqtt(port, READ_TIMEOUT_MS)) {
      c.send(MqttBadInputTest.CONNECT_V311);
      assertThat(c.read().type()).as("CONNACK").isEqualTo(2);
      c.send(packet(0x82, bytes(0, 1)));
      assertThat(c.closed()).as("closed, and no SUBACK before it").isTrue();
    }
    assertOthersCarryOn();
  }

  @Test
  void aV5SubscribeOfAValidFilterStillGetsItsGrantedQos() throws Exception {
    try (RawMqtt c = new RawMqtt(port, READ_TIMEOUT_MS).connectedV5("good")) {
      c.send(packet(0x82, bytes(0, 7, 0, "a/+/b", 1, "$share/g/x/#", 2)));
      RawMqtt.Packet ack = c.read();
      assertThat(ack.type()).as("SUBACK").isEqualTo(9);
      assertThat(ack.body()).containsExactly(0, 7, 0, 1, 2);
    }
  }

  @Test
  void topicAliasZeroIsInvalid() throws Exception {
    // PUBLISH QoS 0, topic "a", properties: Topic Alias 0, payload "x".
    assertV5DisconnectFor(packet(0x30, bytes("a", 3, 0x23, 0, 0, (int) 'x')), 0x94);
  }

  @Test
  void aTopicAliasAboveTheAnnouncedMaximumIsInvalid() throws Exception {
    int max = MqttConnection.TOPIC_ALIAS_MAXIMUM;
    try (RawMqtt c = new RawMqtt(port, READ_TIMEOUT_MS)) {
      c.send(RawMqtt.connectV5("alias"));
      RawMqtt.Packet ack = c.read();
      assertThat(RawMqtt.property(ack, 0x22)).as("Topic Alias Maximum announced").isEqualTo(max);
      c.send(packet(0x30, bytes("a", 3, 0x23, (max + 1) >> 8, (max + 1) & 0xFF, (int) 'x')));
      RawMqtt.Packet p = c.read();
      assertThat(p.type()).isEqualTo(14);
      assertThat(p.reason()).isEqualTo(0x94);
    }
    assertOthersCarryOn();
  }

  @Test
  void aV5ConnectWhosePropertiesRunPastThePacketIsRefusedAtOnce() throws Exception {
    try (RawMqtt c = new RawMqtt(port, READ_TIMEOUT_MS)) {
      // CONNECT v5 declaring 50 bytes of properties, of which the packet holds none.
      c.send(packet(0x10, bytes("MQTT", 5, 0x02, 0, 0, 50, "q")));
      RawMqtt.Packet p = c.read();
      assertThat(p.type()).as("CONNACK").isEqualTo(2);
      assertThat(p.reason()).as("Malformed Packet").isEqualTo(0x81);
      assertThat(c.closed()).isTrue();
    }
    assertOthersCarryOn();
  }

  @Test
  void aV5ConnectWithAWillPropertyLengthPastThePacketIsRefusedAtOnce() throws Exception {
    try (RawMqtt c = new RawMqtt(port, READ_TIMEOUT_MS)) {
      // Will flag set; the will properties declare 100 bytes that are not there.
      c.send(packet(0x10, bytes("MQTT", 5, 0x06, 0, 0, 0, "q", 100, "t", "m")));
      RawMqtt.Packet p = c.read();
      assertThat(p.type()).isEqualTo(2);
      assertThat(p.reason()).isEqualTo(0x81);
    }
    assertOthersCarryOn();
  }

  /** The pipeline the front end installs, on an embedded channel, counting into {@code meters}. */
  static EmbeddedChannel pipeline(ProtocolMeters meters) {
    MqttSettings settings = new MqttSettings(10, 4096, 8, 8, 1 << 20, 10_000, false, 0);
    return new EmbeddedChannel(
        new MqttConnectGuard(4096, meters),
        new MqttDecoder(4096, 64),
        MqttEncoder.INSTANCE,
        new MqttConnection(null, settings, meters, "tcp", null));
  }

  static double badInput(SimpleMeterRegistry registry, String reason) {
    var c = registry.find("switchboard.bad.input").tag("reason", reason).functionCounter();
    return c == null ? 0 : c.count();
  }

  @Test
  void eachNewCaseIsCountedAsBadInputByReason() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ProtocolMeters meters = new ProtocolMeters(registry, "mqtt");
    byte[][][] cases = {
      {packet(0x10, bytes("MQTT", 5, 0x02, 0, 0, 50, "q"))},
      {RawMqtt.connectV5("a"), packet(0x82, bytes(0, 1, 0))},
      {RawMqtt.connectV5("b"), packet(0x82, bytes(0, 1, 0, "a/#/b", 1))},
      {RawMqtt.connectV5("c"), packet(0x30, bytes("a", 3, 0x23, 0, 0, (int) 'x'))},
    };
    for (byte[][] bytes : cases) {
      EmbeddedChannel ch = pipeline(meters);
      for (byte[] b : bytes) {
        ch.writeInbound(Unpooled.wrappedBuffer(b));
      }
      ch.runPendingTasks();
      for (Object out; (out = ch.readOutbound()) != null; ) {
        ReferenceCountUtil.release(out);
      }
      assertThat(ch.isOpen()).isFalse();
      ch.finishAndReleaseAll();
    }
    assertThat(badInput(registry, "malformed_packet")).isEqualTo(1);
    assertThat(badInput(registry, "protocol_error")).isEqualTo(1);
    assertThat(badInput(registry, "topic_filter_invalid")).isEqualTo(1);
    assertThat(badInput(registry, "topic_alias_invalid")).isEqualTo(1);
  }
}
