package io.switchboard.mqtt;

import static io.switchboard.mqtt.RawMqtt.bytes;
import static io.switchboard.mqtt.RawMqtt.packet;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a resumed MQTT 5 session sends, read off the wire (client libraries hide the DUP flag and
 * answer PUBREL themselves): unacknowledged QoS 1 messages again with DUP, in order; PUBREL, not
 * the message, for a QoS 2 delivery the client had acknowledged with PUBREC.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MqttSessionWireTest {
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

  /** CONNECT v5, Session Expiry Interval 300 s, Clean Start as given. */
  static byte[] connect(String id, boolean cleanStart) {
    return packet(0x10, bytes("MQTT", 5, cleanStart ? 0x02 : 0x00, 0, 0, 5, 0x11, 0, 0, 1, 44, id));
  }

  /** One PUBLISH read off the wire: its flags, packet id and payload. */
  record Publish(boolean dup, int qos, int packetId, String payload) {
    static Publish of(RawMqtt.Packet p) {
      assertThat(p.type()).as("PUBLISH").isEqualTo(3);
      byte[] b = p.body();
      int topicLength = ((b[0] & 0xFF) << 8) | (b[1] & 0xFF);
      int at = 2 + topicLength;
      int id = ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
      at += 2;
      int propsLength = b[at] & 0x7F; // short properties here: one byte of length
      at += 1 + propsLength;
      return new Publish(
          (p.header() & 0x08) != 0,
          (p.header() >> 1) & 3,
          id,
          new String(b, at, b.length - at, StandardCharsets.UTF_8));
    }
  }

  void publish(String topic, String payload, int qos) throws Exception {
    MqttClient p = new MqttClient(on.uri(), "pub-" + System.nanoTime(), new MemoryPersistence());
    p.connect();
    p.publish(topic, payload.getBytes(StandardCharsets.UTF_8), qos, false);
    p.disconnect();
    p.close();
  }

  @Test
  void unacknowledgedQos1MessagesComeBackWithDupInOrderAndNewOnesWithout() throws Exception {
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-1", true));
      c.read();
      c.send(packet(0x82, bytes(0, 1, 0, "w/#", 1)));
      assertThat(c.read().type()).as("SUBACK").isEqualTo(9);
      for (int i = 0; i < 3; i++) {
        publish("w/" + i, "m" + i, 1);
      }
      Publish m0 = Publish.of(c.read());
      assertThat(
              List.of(m0.payload(), Publish.of(c.read()).payload(), Publish.of(c.read()).payload()))
          .containsExactly("m0", "m1", "m2");
      assertThat(m0.dup()).isFalse();
      c.send(packet(0x40, bytes(m0.packetId() >> 8, m0.packetId() & 0xFF))); // PUBACK m0 only
      c.send(packet(0xC0, new byte[0])); // PINGREQ: its PINGRESP says the PUBACK was read
      assertThat(c.read().type()).as("PINGRESP").isEqualTo(13);
    } // dropped without DISCONNECT
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-1", false));
      RawMqtt.Packet ack = c.read();
      assertThat(ack.body()[0]).as("session present").isEqualTo((byte) 1);
      List<Publish> got = new ArrayList<>();
      got.add(Publish.of(c.read()));
      got.add(Publish.of(c.read()));
      publish("w/3", "m3", 1);
      got.add(Publish.of(c.read()));
      assertThat(got)
          .extracting(p -> p.payload() + (p.dup() ? "+dup" : ""))
          .containsExactly("m1+dup", "m2+dup", "m3");
    }
  }

  @Test
  void aQos2MessageTheClientHadIsReleasedNotSentAgain() throws Exception {
    int packetId;
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-2", true));
      c.read();
      c.send(packet(0x82, bytes(0, 1, 0, "w/#", 2)));
      assertThat(c.read().type()).as("SUBACK").isEqualTo(9);
      publish("w/once", "once", 2);
      Publish p = Publish.of(c.read());
      assertThat(p.qos()).isEqualTo(2);
      packetId = p.packetId();
      c.send(packet(0x50, bytes(packetId >> 8, packetId & 0xFF))); // PUBREC
      RawMqtt.Packet rel = c.read();
      assertThat(rel.type()).as("PUBREL").isEqualTo(6);
    } // dropped before PUBCOMP
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-2", false));
      c.read();
      RawMqtt.Packet first = c.read();
      assertThat(first.type()).as("PUBREL again, not the PUBLISH").isEqualTo(6);
      assertThat(((first.body()[0] & 0xFF) << 8) | (first.body()[1] & 0xFF)).isEqualTo(packetId);
      c.send(packet(0x70, bytes(packetId >> 8, packetId & 0xFF))); // PUBCOMP
      publish("w/next", "next", 2);
      Publish next = Publish.of(c.read());
      assertThat(next.payload()).as("only the new message follows").isEqualTo("next");
      assertThat(next.dup()).isFalse();
    }
  }

  /** PUBLISH v5 at QoS 1: topic, packet id, no properties, payload. */
  static byte[] publishQos1(String topic, int packetId, String payload) {
    return packet(
        0x32,
        bytes(topic, packetId >> 8, packetId & 0xFF, 0, payload.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void packetsRightBehindAConnectWaitForItsSessionAndKeepTheirOrder() throws Exception {
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      // One write: the session is set up off the loop while the rest is already read.
      c.send(
          bytes(
              connect("wire-3", true),
              packet(0x82, bytes(0, 1, 0, "p/#", 1)), // SUBSCRIBE p/# QoS 1
              publishQos1("p/self", 7, "self"),
              packet(0xC0, new byte[0]))); // PINGREQ
      RawMqtt.Packet connack = c.read();
      assertThat(connack.type()).as("CONNACK first").isEqualTo(2);
      assertThat(connack.reason()).isZero();
      assertThat(c.read().type()).as("SUBACK second").isEqualTo(9);
      // The PUBLISH came after the SUBSCRIBE was stored: its copy is in the session's inbox.
      List<Integer> types = new ArrayList<>();
      String delivered = null;
      for (int i = 0; i < 3; i++) {
        RawMqtt.Packet p = c.read();
        types.add(p.type());
        if (p.type() == 3) {
          delivered = Publish.of(p).payload();
        }
      }
      assertThat(types).containsExactlyInAnyOrder(3, 4, 13); // PUBLISH, PUBACK, PINGRESP
      assertThat(delivered).isEqualTo("self");
    }
  }

  @Test
  void aConnectionClosedWhileItsSessionIsSetUpLeavesASessionTheNextOneResumes() throws Exception {
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(bytes(connect("wire-4", true), packet(0x82, bytes(0, 1, 0, "q/#", 1))));
    } // closed at once, without waiting for any answer
    // Its CONNECT was handled (else the next CONNECT could come first and be taken over by it):
    // the session's consumer exists.
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () ->
                on.server.broker().listConsumers(MqttSessions.INBOX_STREAM).stream()
                    .anyMatch(i -> i.config().name().equals(MqttSessions.consumerName("wire-4"))));
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-4", false));
      RawMqtt.Packet ack = c.read();
      assertThat(ack.reason()).isZero();
      assertThat(ack.body()[0]).as("session present").isEqualTo((byte) 1);
      c.send(packet(0x82, bytes(0, 2, 0, "q/#", 1)));
      assertThat(c.read().type()).as("SUBACK").isEqualTo(9);
      publish("q/1", "after", 1);
      assertThat(Publish.of(c.read()).payload()).isEqualTo("after");
    }
  }

  @Test
  void aSessionStepThatFailsIsAnsweredAtOnceTheProtocolsWay() throws Exception {
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-5", true));
      assertThat(c.read().reason()).isZero();
      on.server.broker().close(); // from now on every session step fails (BROKER_CLOSED)
      c.send(packet(0x82, bytes(0, 1, 0, "r/#", 1)));
      RawMqtt.Packet suback = c.read();
      assertThat(suback.type()).isEqualTo(9);
      assertThat(suback.body()[3] & 0xFF).as("SUBACK reason: unspecified error").isEqualTo(0x80);
      c.send(packet(0xC0, new byte[0])); // and the connection reads on
      assertThat(c.read().type()).as("PINGRESP").isEqualTo(13);
    }
    try (RawMqtt c = new RawMqtt(on.port, 10_000)) {
      c.send(connect("wire-6", false));
      RawMqtt.Packet connack = c.read();
      assertThat(connack.type()).isEqualTo(2);
      assertThat(connack.reason()).as("CONNACK: server unavailable").isEqualTo(0x88);
      assertThat(c.closed()).isTrue();
    }
  }
}
