package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
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
    flags.put(ConfigCatalogue.NATIVE_PORT.name(), "-1");
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
}
