package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT 5 enhanced authentication on the wire, for what no client library sends (issue 18): a packet
 * other than AUTH before CONNACK [MQTT-3.1.2-30], an AUTH with another method, and an oversized
 * SCRAM message. (The exchange itself, with a real client: MqttEnhancedAuthTest in
 * switchboard-mqtt-interop.)
 */
class MqttEnhancedAuthWireTest {
  static final int AUTHENTICATION_METHOD = 0x15;
  static final int AUTHENTICATION_DATA = 0x16;

  @TempDir Path dir;
  SwitchboardServer server;
  int port;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                NativeKeys.PORT.name(),
                "-1",
                MqttFrontEnd.PORT.name(),
                "0",
                "auth.required",
                "true",
                "auth.failure-delay-ms",
                "10"));
    port = server.addresses().get("mqtt").getPort();
    server.security().addUser("alice", "alice-pw", "test");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** Properties: the method, and the data as binary (two-byte length, bytes). */
  static byte[] authProperties(String method, byte[] data) {
    return RawMqtt.bytes(
        AUTHENTICATION_METHOD,
        method,
        AUTHENTICATION_DATA,
        data.length >> 8,
        data.length & 0xFF,
        data);
  }

  static byte[] varint(int n) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    do {
      int digit = n & 0x7F;
      n >>>= 7;
      b.write(n > 0 ? digit | 0x80 : digit);
    } while (n > 0);
    return b.toByteArray();
  }

  static byte[] auth(int reason, String method, byte[] data) {
    byte[] props = authProperties(method, data);
    return RawMqtt.packet(0xF0, RawMqtt.bytes(reason, varint(props.length), props));
  }

  /** CONNECT with SCRAM's client-first; returns the connection after the server's AUTH 0x18. */
  RawMqtt started() throws Exception {
    RawMqtt raw = new RawMqtt(port, 10_000);
    raw.send(
        RawMqtt.connectV5(
            "wire",
            authProperties("SCRAM-SHA-256", "n,,n=alice,r=abc".getBytes(StandardCharsets.UTF_8))));
    RawMqtt.Packet challenge = raw.read();
    assertThat(challenge.type()).as("AUTH").isEqualTo(15);
    assertThat(challenge.reason()).isEqualTo(0x18);
    assertThat(new String(challenge.body(), StandardCharsets.UTF_8)).contains("r=abc");
    return raw;
  }

  @Test
  void aPacketOtherThanAuthBeforeConnackIsAProtocolError() throws Exception {
    try (RawMqtt raw = started()) {
      raw.send(
          RawMqtt.packet(0x30, RawMqtt.bytes("t", 0, (int) 'x'))); // PUBLISH QoS 0, no properties
      RawMqtt.Packet ack = raw.read();
      assertThat(ack.type()).isEqualTo(2);
      assertThat(ack.reason()).isEqualTo(0x82);
      assertThat(raw.closed()).isTrue();
    }
  }

  @Test
  void anAuthWithAnotherMethodIsAProtocolError() throws Exception {
    try (RawMqtt raw = started()) {
      raw.send(auth(0x18, "SCRAM-SHA-512", "c=biws,r=abc,p=eA==".getBytes(StandardCharsets.UTF_8)));
      RawMqtt.Packet ack = raw.read();
      assertThat(ack.type()).isEqualTo(2);
      assertThat(ack.reason()).isEqualTo(0x82);
    }
  }

  @Test
  void anOversizedScramMessageIsNotAuthorized() throws Exception {
    try (RawMqtt raw = started()) {
      raw.send(auth(0x18, "SCRAM-SHA-256", new byte[5000]));
      RawMqtt.Packet ack = raw.read();
      assertThat(ack.type()).isEqualTo(2);
      assertThat(ack.reason()).isEqualTo(0x87);
    }
  }
}
