package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Map;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed and out-of-order packets get the spec's reaction; other clients are unaffected. */
class MqttBadInputTest {
  @TempDir Path dir;
  SwitchboardServer server;
  int port;

  /** CONNECT, MQTT 3.1.1, clean session, keep-alive 0, client id "x". */
  static final byte[] CONNECT_V311 = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 1, 'x'};

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(), dir.toString(),
                NativeKeys.PORT.name(), "-1",
                MqttFrontEnd.PORT.name(), "0",
                MqttFrontEnd.MAX_PACKET_BYTES.name(), "4096"));
    port = server.addresses().get("mqtt").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** Connects raw, reads the CONNACK, sends {@code bytes}, and says whether the server closed. */
  boolean closedAfter(byte[] bytes) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(CONNECT_V311);
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      byte[] connack = new byte[4];
      in.readFully(connack);
      assertThat(connack).containsExactly(0x20, 0x02, 0x00, 0x00);
      out.write(bytes);
      out.flush();
      return in.read() == -1;
    }
  }

  void assertOthersCarryOn() throws Exception {
    MqttClient ok = new MqttClient("tcp://127.0.0.1:" + port, "ok", new MemoryPersistence());
    ok.connect();
    ok.publish("still/fine", new byte[] {1}, 1, false);
    ok.disconnect();
  }

  @Test
  void aWildcardInAPublishTopicClosesTheConnection() throws Exception {
    // PUBLISH QoS 0, topic "a/+", payload "hi"
    assertThat(closedAfter(new byte[] {0x30, 7, 0, 3, 'a', '/', '+', 'h', 'i'})).isTrue();
    assertOthersCarryOn();
  }

  @Test
  void aPacketLargerThanTheLimitIsRefusedBeforeItIsBuffered() throws Exception {
    // PUBLISH declaring 268 MB (the largest remaining length): nothing that size is ever sent.
    assertThat(closedAfter(new byte[] {0x30, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x7F}))
        .isTrue();
    assertOthersCarryOn();
  }

  @Test
  void aSecondConnectClosesTheConnection() throws Exception {
    assertThat(closedAfter(CONNECT_V311)).isTrue();
    assertOthersCarryOn();
  }

  @Test
  void aTopicDeeperThanASubjectMayBeIsRefused() throws Exception {
    // 200 levels: legal MQTT, but past the 128 tokens a subject may have.
    StringBuilder topic = new StringBuilder("a");
    for (int i = 1; i < 200; i++) {
      topic.append("/a");
    }
    byte[] t = topic.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    int rl = 2 + t.length + 1;
    byte[] packet = new byte[3 + 2 + t.length + 1];
    packet[0] = 0x30;
    packet[1] = (byte) (0x80 | (rl & 0x7F));
    packet[2] = (byte) (rl >> 7);
    packet[3] = (byte) (t.length >> 8);
    packet[4] = (byte) t.length;
    System.arraycopy(t, 0, packet, 5, t.length);
    packet[packet.length - 1] = 'x';
    assertThat(closedAfter(packet)).isTrue();
    assertOthersCarryOn();
  }

  @Test
  void everyRowOfThePublishReasonTableIsAnMqtt5PubackCode() {
    for (var row : MqttReasons.PUBLISH_REASONS.entrySet()) {
      int reason = row.getValue() & 0xFF;
      assertThat(reason).as(row.getKey().name()).isIn(0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99);
    }
    assertThat(MqttReasons.publishReason(ErrorCode.INVALID_SUBJECT)).isEqualTo((byte) 0x90);
    assertThat(MqttReasons.publishReason(ErrorCode.STREAM_FULL)).isEqualTo((byte) 0x97);
    assertThat(MqttReasons.publishReason(ErrorCode.INTERNAL)).isEqualTo((byte) 0x80);
  }
}
