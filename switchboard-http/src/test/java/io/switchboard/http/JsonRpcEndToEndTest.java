package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static io.switchboard.http.testing.HttpServerFixture.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.WsClient;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * JSON-RPC 2.0 over {@code POST /v1/jsonrpc} and the WebSocket, answered by native-client
 * responders: calls, batches, notifications and every error object of the spec.
 */
@ExtendWith(LeakCheck.class)
class JsonRpcEndToEndTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  HttpServerFixture s;
  SwitchboardClient client;

  @BeforeEach
  void start() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
    client = s.nativeClient();
    // A native responder: adds the two numbers of {"a": .., "b": ..} and answers JSON.
    client.subscribe(
        "math.add",
        m -> {
          try {
            JsonNode p = JSON.readTree(m.payload());
            client.reply(m, utf8("{\"sum\":" + (p.path("a").asInt() + p.path("b").asInt()) + "}"));
          } catch (Exception e) {
            client.reply(m, utf8("bad params"));
          }
        });
    client.subscribe(
        "svc.echo",
        m -> {
          if (m.replyTo() != null) { // a notification has no one to answer
            client.reply(m, utf8("echo: " + new String(m.payload(), StandardCharsets.UTF_8)));
          }
        });
    client.subscribe("svc.silent", m -> {});
    await().atMost(WAIT).until(() -> s.server.broker().live().subscriptionCount() == 3);
  }

  @AfterEach
  void stop() {
    client.close();
    s.close();
  }

  JsonNode rpc(String body) {
    HttpResponse<String> r = s.post("/v1/jsonrpc?timeoutMs=300", body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).contains("application/json");
    return json(r);
  }

  static void assertError(JsonNode response, Object id, int rpcCode, ErrorCode code) {
    assertThat(response.path("jsonrpc").asText()).isEqualTo("2.0");
    if (id == null) {
      assertThat(response.path("id").isNull()).as("%s", response).isTrue();
    } else {
      assertThat(response.path("id").asText()).as("%s", response).isEqualTo(id.toString());
    }
    assertThat(response.has("result")).isFalse();
    assertThat(response.path("error").path("code").asInt()).as("%s", response).isEqualTo(rpcCode);
    assertThat(response.path("error").path("message").asText()).isNotBlank();
    assertThat(response.path("error").path("data").path("code").asInt()).isEqualTo(code.number());
  }

  @Test
  void shouldCallANativeResponder() {
    JsonNode r =
        rpc("{\"jsonrpc\":\"2.0\",\"method\":\"math.add\",\"params\":{\"a\":2,\"b\":3},\"id\":1}");
    assertThat(r.path("jsonrpc").asText()).isEqualTo("2.0");
    assertThat(r.path("id").asInt()).isEqualTo(1);
    assertThat(r.path("result").path("sum").asInt()).isEqualTo(5);
    assertThat(r.has("error")).isFalse();
    // A reply that is not JSON is a string result.
    JsonNode text =
        rpc("{\"jsonrpc\":\"2.0\",\"method\":\"svc.echo\",\"params\":[1],\"id\":\"e\"}");
    assertThat(text.path("result").asText()).isEqualTo("echo: [1]");
    assertThat(text.path("id").asText()).isEqualTo("e");
  }

  @Test
  void shouldMapFailuresToTheSpecsErrorObjects() {
    assertError(
        rpc("{\"jsonrpc\":\"2.0\",\"method\":\"nobody.home\",\"id\":1}"),
        1,
        JsonRpc.METHOD_NOT_FOUND,
        ErrorCode.NO_RESPONDERS);
    assertError(
        rpc("{\"jsonrpc\":\"2.0\",\"method\":\"svc.silent\",\"id\":2}"),
        2,
        JsonRpc.TIMEOUT,
        ErrorCode.REQUEST_TIMEOUT);
    assertError(rpc("{\"jsonrpc\": 2.0,"), null, JsonRpc.PARSE_ERROR, ErrorCode.INVALID_ARGUMENT);
    assertError(rpc(""), null, JsonRpc.PARSE_ERROR, ErrorCode.INVALID_ARGUMENT);
    assertError(
        rpc("{\"jsonrpc\":\"1.0\",\"method\":\"svc.echo\",\"id\":3}"),
        3,
        JsonRpc.INVALID_REQUEST,
        ErrorCode.INVALID_ARGUMENT);
    assertError(
        rpc("{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":4}"),
        4,
        JsonRpc.INVALID_REQUEST,
        ErrorCode.INVALID_ARGUMENT);
    assertError(
        rpc("{\"jsonrpc\":\"2.0\",\"method\":\"svc.echo\",\"params\":5,\"id\":5}"),
        5,
        JsonRpc.INVALID_PARAMS,
        ErrorCode.INVALID_ARGUMENT);
    assertError(
        rpc("{\"jsonrpc\":\"2.0\",\"method\":\"a..b\",\"id\":6}"),
        6,
        JsonRpc.METHOD_NOT_FOUND,
        ErrorCode.INVALID_SUBJECT);
    assertError(rpc("[]"), null, JsonRpc.INVALID_REQUEST, ErrorCode.INVALID_ARGUMENT);
    assertError(rpc("42"), null, JsonRpc.INVALID_REQUEST, ErrorCode.INVALID_ARGUMENT);
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldAnswerABatchInOrderLeavingOutNotifications() {
    ConcurrentLinkedQueue<LiveMessage> notified = new ConcurrentLinkedQueue<>();
    client.subscribe("events.*", notified::add);
    await().atMost(WAIT).until(() -> s.server.broker().live().subscriptionCount() == 4);
    JsonNode r =
        rpc(
            "[{\"jsonrpc\":\"2.0\",\"method\":\"math.add\",\"params\":{\"a\":1,\"b\":1},\"id\":1},"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"events.logged\",\"params\":{\"x\":1}},"
                + "{\"foo\":\"boo\"},"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"nobody.home\",\"id\":\"9\"}]");
    assertThat(r.isArray()).isTrue();
    assertThat(r).hasSize(3);
    assertThat(r.get(0).path("result").path("sum").asInt()).isEqualTo(2);
    assertError(r.get(1), null, JsonRpc.INVALID_REQUEST, ErrorCode.INVALID_ARGUMENT);
    assertError(r.get(2), "9", JsonRpc.METHOD_NOT_FOUND, ErrorCode.NO_RESPONDERS);
    await().atMost(WAIT).until(() -> notified.size() == 1);
    LiveMessage n = notified.peek();
    assertThat(n.subject()).isEqualTo("events.logged");
    assertThat(new String(n.payload(), StandardCharsets.UTF_8)).isEqualTo("{\"x\":1}");
  }

  @Test
  void shouldAnswerNotificationsWithNoContent() {
    ConcurrentLinkedQueue<LiveMessage> notified = new ConcurrentLinkedQueue<>();
    client.subscribe("events.*", notified::add);
    await().atMost(WAIT).until(() -> s.server.broker().live().subscriptionCount() == 4);
    HttpResponse<String> one =
        s.post("/v1/jsonrpc", "{\"jsonrpc\":\"2.0\",\"method\":\"events.a\",\"params\":[1]}");
    assertThat(one.statusCode()).isEqualTo(204);
    HttpResponse<String> batch =
        s.post(
            "/v1/jsonrpc",
            "[{\"jsonrpc\":\"2.0\",\"method\":\"events.b\"},"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"events.c\"}]");
    assertThat(batch.statusCode()).isEqualTo(204);
    assertThat(batch.body()).isEmpty();
    await().atMost(WAIT).until(() -> notified.size() == 3);
  }

  @Test
  void shouldCallOverTheWebSocket() {
    try (WsClient ws = WsClient.connect(s, "/v1/ws?timeoutMs=300")) {
      ws.send(
          "{\"jsonrpc\":\"2.0\",\"method\":\"math.add\",\"params\":{\"a\":4,\"b\":5},\"id\":7}");
      await().atMost(WAIT).until(() -> ws.rpcResponses().size() == 1);
      JsonNode r = ws.rpcResponses().getFirst();
      assertThat(r.path("id").asInt()).isEqualTo(7);
      assertThat(r.path("result").path("sum").asInt()).isEqualTo(9);
      ws.send(
          "[{\"jsonrpc\":\"2.0\",\"method\":\"svc.silent\",\"id\":1},"
              + "{\"jsonrpc\":\"2.0\",\"method\":\"svc.echo\",\"params\":{},\"id\":2}]");
      await().atMost(WAIT).until(() -> ws.rpcResponses().size() == 2);
      JsonNode batch = ws.rpcResponses().get(1);
      assertError(batch.get(0), 1, JsonRpc.TIMEOUT, ErrorCode.REQUEST_TIMEOUT);
      assertThat(batch.get(1).path("result").asText()).isEqualTo("echo: {}");
      // A notification is not answered; the next call is.
      ws.send("{\"jsonrpc\":\"2.0\",\"method\":\"svc.echo\",\"params\":[]}");
      ws.send("{\"jsonrpc\":\"2.0\",\"method\":\"svc.echo\",\"params\":[2],\"id\":3}");
      await().atMost(WAIT).until(() -> ws.rpcResponses().size() == 3);
      assertThat(ws.rpcResponses().get(2).path("id").asInt()).isEqualTo(3);
    }
  }
}
