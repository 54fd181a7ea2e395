package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Server-to-client topic aliases (MQTT 5): the bookkeeping, the bytes on the wire, a real client.
 */
class MqttTopicAliasTest {
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

  @Test
  void aliasesCountFromOneAndTheTopicGoesOnlyWithTheFirstUse() {
    MqttTopicAliases a = new MqttTopicAliases(10);
    assertThat(a.aliasFor("x")).isEqualTo(new MqttTopicAliases.Alias(1, true));
    assertThat(a.aliasFor("y")).isEqualTo(new MqttTopicAliases.Alias(2, true));
    assertThat(a.aliasFor("x")).isEqualTo(new MqttTopicAliases.Alias(1, false));
    assertThat(a.aliasFor("y")).isEqualTo(new MqttTopicAliases.Alias(2, false));
  }

  @Test
  void whenAllAreInUseTheLeastRecentlyUsedTopicGivesItsAliasUp() {
    MqttTopicAliases a = new MqttTopicAliases(2);
    a.aliasFor("x"); // 1
    a.aliasFor("y"); // 2
    a.aliasFor("x"); // x is now the most recent
    assertThat(a.aliasFor("z")).isEqualTo(new MqttTopicAliases.Alias(2, true)); // y's alias
    assertThat(a.aliasFor("y")).isEqualTo(new MqttTopicAliases.Alias(1, true)); // x's, rebound
    assertThat(a.size()).isEqualTo(2);
  }

  @Test
  void noAliasesUnlessTheClientAllowsThemAndNeverMoreThanTheCap() {
    assertThat(new MqttTopicAliases(0).aliasFor("x")).isNull();
    MqttTopicAliases big = new MqttTopicAliases(65_535);
    for (int i = 0; i < MqttTopicAliases.CAP + 10; i++) {
      assertThat(big.aliasFor("t" + i).alias()).isBetween(1, MqttTopicAliases.CAP);
    }
    assertThat(big.size()).isEqualTo(MqttTopicAliases.CAP);
  }

  /** One PUBLISH as read off the wire. */
  record Publish(String topic, Integer alias, String payload) {}

  static int readVarInt(DataInputStream in) throws IOException {
    int value = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in.readUnsignedByte();
      value |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
  }

  static byte[] packet(int type, byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(type);
    int len = body.length;
    do {
      int b = len & 0x7F;
      len >>>= 7;
      out.write(len > 0 ? b | 0x80 : b);
    } while (len > 0);
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** Reads packets until a PUBLISH and parses it by the spec (QoS 0, v5 properties). */
  static Publish readPublish(DataInputStream in) throws IOException {
    while (true) {
      int type = in.readUnsignedByte();
      byte[] body = new byte[readVarInt(in)];
      in.readFully(body);
      if ((type >> 4) != 3) {
        continue;
      }
      DataInputStream b = new DataInputStream(new java.io.ByteArrayInputStream(body));
      byte[] topic = new byte[b.readUnsignedShort()];
      b.readFully(topic);
      int propsLen = readVarInt(b);
      byte[] props = new byte[propsLen];
      b.readFully(props);
      Integer alias = null;
      DataInputStream p = new DataInputStream(new java.io.ByteArrayInputStream(props));
      while (p.available() > 0) {
        int id = p.readUnsignedByte();
        assertThat(id).as("only a topic alias property is expected").isEqualTo(0x23);
        alias = p.readUnsignedShort();
      }
      return new Publish(
          new String(topic, StandardCharsets.UTF_8),
          alias,
          new String(b.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void aV5SubscriberThatAllowsAliasesGetsTheTopicOnceThenOnlyTheAlias() throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      DataInputStream in = new DataInputStream(s.getInputStream());
      // CONNECT v5, clean start, keep-alive 0, Topic Alias Maximum 2, client id "a".
      out.write(
          packet(
              0x10,
              new byte[] {0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 3, 0x22, 0, 2, 0, 1, 'a'}));
      out.flush();
      assertThat(in.readUnsignedByte()).as("CONNACK").isEqualTo(0x20);
      in.readFully(new byte[readVarInt(in)]);
      // SUBSCRIBE v5, packet id 1, no properties, "t/#" at QoS 0.
      out.write(packet(0x82, new byte[] {0, 1, 0, 0, 3, 't', '/', '#', 0}));
      out.flush();
      assertThat(in.readUnsignedByte()).as("SUBACK").isEqualTo(0x90);
      in.readFully(new byte[readVarInt(in)]);

      MqttClient pub = new MqttClient("tcp://127.0.0.1:" + port, "p", new MemoryPersistence());
      pub.connect();
      for (String[] m :
          new String[][] {
            {"t/a", "1"}, {"t/a", "2"}, {"t/b", "3"}, {"t/a", "4"}, {"t/c", "5"}, {"t/b", "6"}
          }) {
        pub.publish(m[0], m[1].getBytes(StandardCharsets.UTF_8), 0, false);
      }
      pub.disconnect();
      pub.close();

      List<Publish> got = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        got.add(readPublish(in));
      }
      assertThat(got)
          .containsExactly(
              new Publish("t/a", 1, "1"),
              new Publish("", 1, "2"),
              new Publish("t/b", 2, "3"),
              new Publish("", 1, "4"),
              // two aliases allowed: t/c takes t/b's (the least recently used), t/b then t/a's
              new Publish("t/c", 2, "5"),
              new Publish("t/b", 1, "6"));
    }
  }

  // A real client resolving the aliases is HiveMqClientTest (switchboard-mqtt-interop): Paho's
  // v5 client 1.2.5 announces a Topic Alias Maximum but hands aliased messages to the application
  // with an empty topic (eclipse-paho/paho.mqtt.java#866).
}
