package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 §3: {@code DELETE /v1/streams/MQTT_SESSIONS} answered 204, and new persistent sessions
 * were then lost at restart. What the server owns is refused to every front end's admin calls, and
 * survives a restart.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerOwnedStreamsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  final HttpClient http = HttpClient.newHttpClient();

  SwitchboardServer start() throws Exception {
    return SwitchboardServer.startOnFreePorts(
        Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  HttpResponse<String> send(SwitchboardServer server, String method, String path, String body)
      throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + server.addresses().get("http").getPort() + path);
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Content-Type", "application/json");
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static void assertRefused(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
    JsonNode problem = JSON.readTree(r.body());
    assertThat(problem.path("code").asInt()).as(r.body()).isEqualTo(code.number());
  }

  @Test
  void theMqttStreamsAndSessionConsumersAreRefusedToAdminCallsOnEveryFrontEnd() throws Exception {
    String inbox;
    try (SwitchboardServer server = start()) {
      // A persistent session: its consumer on MQTT_INBOX is the server's too.
      MqttClient mqtt =
          new MqttClient(
              "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort(),
              "owned-test",
              new MemoryPersistence());
      MqttConnectOptions options = new MqttConnectOptions();
      options.setCleanSession(false);
      mqtt.connect(options);
      mqtt.subscribe("owned/#", 1);
      mqtt.disconnect();
      mqtt.close();
      JsonNode consumers =
          JSON.readTree(send(server, "GET", "/v1/streams/MQTT_INBOX/consumers", null).body());
      inbox = consumers.path("consumers").get(0).path("config").path("name").asText();
      assertThat(inbox).startsWith("mqtt-");

      for (String stream : new String[] {"MQTT_SESSIONS", "MQTT_INBOX", "MQTT_RETAINED"}) {
        assertRefused(
            send(server, "DELETE", "/v1/streams/" + stream, null), ErrorCode.STREAM_RESERVED);
        assertRefused(
            send(
                server,
                "PUT",
                "/v1/streams/" + stream,
                "{\"name\":\"" + stream + "\",\"subjects\":[\"x." + stream + ".>\"]}"),
            ErrorCode.STREAM_RESERVED);
      }
      assertRefused(
          send(server, "DELETE", "/v1/streams/MQTT_INBOX/consumers/" + inbox, null),
          ErrorCode.CONSUMER_RESERVED);
      assertRefused(
          send(server, "POST", "/v1/streams/MQTT_INBOX/consumers", "{\"name\":\"spy\"}"),
          ErrorCode.CONSUMER_RESERVED);

      // The native protocol's admin frames (the CLI's) are refused the same way.
      try (SwitchboardClient client =
          SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
        assertThatThrownBy(
                () -> client.admin(Admin.Op.STREAM_DELETE, "{\"name\":\"MQTT_SESSIONS\"}"))
            .isInstanceOfSatisfying(
                SwitchboardClientException.class,
                e -> {
                  assertThat(e.errorCode()).isEqualTo(ErrorCode.STREAM_RESERVED);
                  assertThat(e.getMessage()).contains("MQTT persistent sessions");
                });
      }
    }
    // After a restart everything is still there, and still the server's.
    try (SwitchboardServer server = start()) {
      assertThat(send(server, "GET", "/v1/streams/MQTT_SESSIONS", null).statusCode())
          .isEqualTo(200);
      assertThat(
              send(server, "GET", "/v1/streams/MQTT_INBOX/consumers/" + inbox, null).statusCode())
          .isEqualTo(200);
      assertRefused(
          send(server, "DELETE", "/v1/streams/MQTT_SESSIONS", null), ErrorCode.STREAM_RESERVED);
    }
  }
}
