package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static io.switchboard.http.testing.HttpServerFixture.utf8;
import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.broker.PublishOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.WsClient;
import io.switchboard.testkit.netty.LeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The WebSocket at /v1/ws: its message set, limits and slow readers, over the JDK client. */
@ExtendWith(LeakCheck.class)
class WebSocketEndToEndTest {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  HttpServerFixture s;

  void start(Map<String, String> settings) throws Exception {
    s = HttpServerFixture.start(dir, settings);
  }

  @AfterEach
  void stop() {
    if (s != null) {
      s.close();
    }
  }

  HttpFrontEnd frontEnd() {
    return s.httpFrontEnd();
  }

  static void assertOk(JsonNode answer) {
    assertThat(answer.path("op").asText()).as("%s", answer).isEqualTo("ok");
  }

  static void assertError(JsonNode answer, ErrorCode code) {
    assertThat(answer.path("op").asText()).as("%s", answer).isEqualTo("error");
    assertThat(answer.path("error").path("code").asInt()).as("%s", answer).isEqualTo(code.number());
    assertThat(answer.path("error").path("error").asText()).isEqualTo(code.name());
  }

  @Test
  void followReplaysAStreamAndResumesExactlyAfterAGivenPosition() throws Exception {
    start(Map.of());
    s.server
        .broker()
        .createStream(
            io.switchboard.broker.stream.StreamConfig.builder("FEED", "feed.>")
                .partitions(2)
                .build());
    try (SwitchboardClient client = s.nativeClient()) {
      for (int i = 0; i < 6; i++) {
        client.publish(
            io.switchboard.client.PublishBuilder.to("feed.x", utf8("m" + i)).key(utf8("k" + i)));
      }
      String position;
      try (WsClient ws = WsClient.connect(s, "/v1/ws")) {
        JsonNode ok =
            ws.call(
                "1",
                "{\"op\":\"follow\",\"id\":\"1\",\"stream\":\"FEED\",\"start\":\"earliest\","
                    + "\"sub\":\"f\"}");
        assertOk(ok);
        assertThat(ok.path("position").asText()).isEqualTo("0,0");
        await().atMost(WAIT).until(() -> ws.messages("f").size() == 6);
        client.publish(
            io.switchboard.client.PublishBuilder.to("feed.y", utf8("m6")).key(utf8("k6")));
        await().atMost(WAIT).until(() -> ws.messages("f").size() == 7);
        Set<String> seen = new HashSet<>();
        for (JsonNode m : ws.messages("f")) {
          seen.add(m.path("message").path("text").asText());
        }
        assertThat(seen).containsExactlyInAnyOrder("m0", "m1", "m2", "m3", "m4", "m5", "m6");
        // As if the connection dropped after the fourth message.
        position = ws.messages("f").get(3).path("position").asText();
        assertThat(position.split(",")).hasSize(2);
      }
      await().atMost(WAIT).until(() -> s.server.broker().listConsumers("FEED").isEmpty());
      client.publish(io.switchboard.client.PublishBuilder.to("feed.z", utf8("m7")).key(utf8("k7")));
      try (WsClient again = WsClient.connect(s, "/v1/ws")) {
        assertOk(
            again.call(
                "r",
                "{\"op\":\"follow\",\"id\":\"r\",\"stream\":\"FEED\",\"position\":\""
                    + position
                    + "\",\"sub\":\"f\"}"));
        // 8 messages in all, 4 seen before the position: exactly the other 4 come.
        await().atMost(WAIT).until(() -> again.messages("f").size() == 4);
        long after = 0;
        for (String n : again.messages("f").get(3).path("position").asText().split(",")) {
          after += Long.parseLong(n);
        }
        assertThat(after).isEqualTo(8);
        // A subject filter narrows it; an unsubscribe ends it.
        assertOk(
            again.call(
                "g",
                "{\"op\":\"follow\",\"id\":\"g\",\"stream\":\"FEED\",\"start\":0,"
                    + "\"subject\":\"feed.z\",\"sub\":\"z\"}"));
        await().atMost(WAIT).until(() -> again.messages("z").size() == 1);
        assertThat(again.messages("z").get(0).path("message").path("text").asText())
            .isEqualTo("m7");
        assertOk(again.call("u", "{\"op\":\"unsubscribe\",\"id\":\"u\",\"sub\":\"z\"}"));
        // Following keeps no state in the broker: no consumer is made for it.
        assertThat(s.server.broker().listConsumers("FEED")).isEmpty();
        // Bad input: an unknown stream, a position of the wrong shape, a bad start.
        assertError(
            again.call("e1", "{\"op\":\"follow\",\"id\":\"e1\",\"stream\":\"NOPE\"}"),
            ErrorCode.STREAM_NOT_FOUND);
        assertError(
            again.call(
                "e2", "{\"op\":\"follow\",\"id\":\"e2\",\"stream\":\"FEED\",\"position\":\"3\"}"),
            ErrorCode.INVALID_ARGUMENT);
        assertError(
            again.call(
                "e3", "{\"op\":\"follow\",\"id\":\"e3\",\"stream\":\"FEED\",\"start\":\"soon\"}"),
            ErrorCode.INVALID_ARGUMENT);
        assertThat(again.isOpen()).isTrue();
      }
    }
  }

  @Test
  void shouldSubscribeToSeveralPatternsOnOneConnection() throws Exception {
    start(Map.of());
    try (WsClient ws = WsClient.connect(s, "/v1/ws");
        SwitchboardClient client = s.nativeClient()) {
      JsonNode first = ws.call("1", "{\"op\":\"subscribe\",\"id\":\"1\",\"pattern\":\"orders.>\"}");
      assertOk(first);
      String orders = first.path("sub").asText();
      assertOk(
          ws.call(
              "2", "{\"op\":\"subscribe\",\"id\":\"2\",\"pattern\":\"greet.*\",\"sub\":\"hi\"}"));
      s.post("/v1/subjects/orders.eu", "{\"n\":1}", "Content-Type", "application/json");
      client.publish("greet.native", utf8("from native"));
      await().atMost(WAIT).until(() -> ws.messages(orders).size() == 1);
      await().atMost(WAIT).until(() -> ws.messages("hi").size() == 1);
      JsonNode order = ws.messages(orders).getFirst();
      assertThat(order.path("seq").asLong()).isEqualTo(1);
      assertThat(order.path("message").path("subject").asText()).isEqualTo("orders.eu");
      assertThat(order.path("message").path("json").path("n").asInt()).isEqualTo(1);
      assertThat(ws.messages("hi").getFirst().path("message").path("text").asText())
          .isEqualTo("from native");
      assertThat(s.server.broker().live().subscriptionCount()).isEqualTo(2);

      // Unsubscribed: nothing more for it, while the other subscription goes on.
      assertOk(ws.call("3", "{\"op\":\"unsubscribe\",\"id\":\"3\",\"sub\":\"hi\"}"));
      s.post("/v1/subjects/greet.again", "dropped on the floor");
      s.post("/v1/subjects/orders.us", "marker");
      await().atMost(WAIT).until(() -> ws.messages(orders).size() == 2);
      assertThat(ws.messages("hi")).hasSize(1);
    }
    await().atMost(WAIT).until(() -> frontEnd().webSocketCount() == 0);
    assertThat(s.server.broker().live().subscriptionCount()).isZero();
  }

  @Test
  void shouldShareAQueueGroupBetweenConnections() throws Exception {
    start(Map.of());
    try (WsClient a = WsClient.connect(s, "/v1/ws");
        WsClient b = WsClient.connect(s, "/v1/ws")) {
      String sub = "{\"op\":\"subscribe\",\"id\":\"q\",\"pattern\":\"work.*\",\"queue\":\"w\"}";
      assertOk(a.call("q", sub));
      assertOk(b.call("q", sub));
      for (int i = 0; i < 20; i++) {
        s.post("/v1/subjects/work.item", "job-" + i);
      }
      await().atMost(WAIT).until(() -> a.messages("1").size() + b.messages("1").size() == 20);
      Set<String> seen = new HashSet<>();
      for (WsClient c : new WsClient[] {a, b}) {
        for (JsonNode m : c.messages("1")) {
          assertThat(seen.add(m.path("message").path("text").asText())).isTrue();
        }
      }
      assertThat(seen).hasSize(20);
    }
  }

  @Test
  void shouldPublishAndRequestAcrossProtocols() throws Exception {
    start(Map.of());
    s.post("/v1/streams", "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}");
    try (WsClient ws = WsClient.connect(s, "/v1/ws");
        SwitchboardClient client = s.nativeClient()) {
      JsonNode ack =
          ws.call(
              "p",
              "{\"op\":\"publish\",\"id\":\"p\",\"subject\":\"orders.a\",\"json\":{\"n\":7},"
                  + "\"key\":\"k-1\",\"messageId\":\"m-1\"}");
      assertOk(ack);
      assertThat(ack.path("ack").path("stream").asText()).isEqualTo("ORDERS");
      assertThat(ack.path("ack").path("offset").asLong()).isZero();
      JsonNode again =
          ws.call(
              "p2",
              "{\"op\":\"publish\",\"id\":\"p2\",\"subject\":\"orders.a\",\"json\":{\"n\":7},"
                  + "\"key\":\"k-1\",\"messageId\":\"m-1\"}");
      assertThat(again.path("ack").path("duplicate").asBoolean()).isTrue();
      JsonNode last = json(s.get("/v1/streams/ORDERS/subjects/orders.a/last"));
      assertThat(last.path("json").path("n").asInt()).isEqualTo(7);

      client.subscribe(
          "svc.echo",
          m -> client.reply(m, utf8("echo: " + new String(m.payload(), StandardCharsets.UTF_8))));
      JsonNode reply =
          ws.call(
              "r", "{\"op\":\"request\",\"id\":\"r\",\"subject\":\"svc.echo\",\"text\":\"ping\"}");
      assertOk(reply);
      assertThat(reply.path("reply").path("text").asText()).isEqualTo("echo: ping");

      assertError(
          ws.call("n", "{\"op\":\"request\",\"id\":\"n\",\"subject\":\"svc.none\"}"),
          ErrorCode.NO_RESPONDERS);
      assertError(
          ws.call(
              "t",
              "{\"op\":\"request\",\"id\":\"t\",\"subject\":\"svc.silent\",\"timeoutMs\":200}"),
          ErrorCode.NO_RESPONDERS);
      client.subscribe("svc.silent", m -> {});
      await().atMost(WAIT).until(() -> s.server.broker().live().subscriptionCount() == 2);
      assertError(
          ws.call(
              "t2",
              "{\"op\":\"request\",\"id\":\"t2\",\"subject\":\"svc.silent\",\"timeoutMs\":200}"),
          ErrorCode.REQUEST_TIMEOUT);
    }
  }

  @Test
  void shouldConsumeWithinCreditsAndGiveBackWhatWasNotAcked() throws Exception {
    start(Map.of());
    s.post("/v1/streams", "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"]}");
    s.post("/v1/streams/JOBS/consumers", "{\"name\":\"w\",\"mode\":\"shared\"}");
    for (int i = 0; i < 4; i++) {
      s.post("/v1/subjects/jobs.run", "job-" + i);
    }
    try (WsClient ws = WsClient.connect(s, "/v1/ws")) {
      assertOk(
          ws.call(
              "c",
              "{\"op\":\"consume\",\"id\":\"c\",\"sub\":\"jobs\",\"stream\":\"JOBS\","
                  + "\"consumer\":\"w\",\"credits\":2,\"member\":\"browser\"}"));
      await().atMost(WAIT).until(() -> ws.messages("jobs").size() == 2);
      JsonNode first = ws.messages("jobs").getFirst().path("message");
      assertThat(first.path("id").asText()).isEqualTo("0:0:1");
      assertThat(first.path("text").asText()).isEqualTo("job-0");
      // Both credits held: the third waits for an ack through the subscription.
      JsonNode acked =
          ws.call("a", "{\"op\":\"ack\",\"id\":\"a\",\"sub\":\"jobs\",\"delivery\":\"0:0:1\"}");
      assertOk(acked);
      assertThat(acked.path("result").asBoolean()).isTrue();
      await().atMost(WAIT).until(() -> ws.messages("jobs").size() == 3);
      assertThat(ws.messages("jobs").get(2).path("message").path("id").asText()).isEqualTo("0:2:1");
      // An ack naming the consumer (not the subscription) returns the credit too.
      assertOk(
          ws.call(
              "a2",
              "{\"op\":\"ack\",\"id\":\"a2\",\"stream\":\"JOBS\",\"consumer\":\"w\","
                  + "\"delivery\":\"0:2:1\"}"));
      await().atMost(WAIT).until(() -> ws.messages("jobs").size() == 4);
      assertError(
          ws.call("a3", "{\"op\":\"ack\",\"id\":\"a3\",\"sub\":\"nope\",\"delivery\":\"0:1:1\"}"),
          ErrorCode.SUBSCRIPTION_NOT_FOUND);
    }
    // Closing gives 0:1 and 0:3 back at once: a fetch gets them without the ack timeout.
    await().atMost(WAIT).until(() -> frontEnd().webSocketCount() == 0);
    JsonNode again = json(s.post("/v1/streams/JOBS/consumers/w/fetch?max=10&waitMs=10000", ""));
    assertThat(again.path("messages").findValuesAsText("id")).contains("0:1:2");
  }

  @Test
  void shouldAnswerBadMessagesWithCodesAndKeepServing() throws Exception {
    start(Map.of("http.ws-max-subscriptions", "2"));
    try (WsClient ws = WsClient.connect(s, "/v1/ws")) {
      ws.send("{not json");
      await().atMost(WAIT).until(() -> !ws.received.isEmpty());
      JsonNode parse = ws.received.poll();
      assertError(parse, ErrorCode.INVALID_ARGUMENT);
      assertThat(parse.path("id").isNull()).isTrue();
      assertThat(parse.path("error").path("detail").asText()).contains("line 1");
      assertError(ws.call("1", "{\"op\":\"dance\",\"id\":\"1\"}"), ErrorCode.INVALID_ARGUMENT);
      assertError(
          ws.call("2", "{\"op\":\"subscribe\",\"id\":\"2\",\"pattern\":\"a..b\"}"),
          ErrorCode.INVALID_PATTERN);
      assertError(
          ws.call("3", "{\"op\":\"subscribe\",\"id\":\"3\",\"pattern\":\"a\",\"colour\":\"red\"}"),
          ErrorCode.INVALID_ARGUMENT);
      assertError(
          ws.call("4", "{\"op\":\"unsubscribe\",\"id\":\"4\",\"sub\":\"x\"}"),
          ErrorCode.SUBSCRIPTION_NOT_FOUND);
      assertError(
          ws.call("5", "{\"op\":\"consume\",\"id\":\"5\",\"stream\":\"NONE\",\"consumer\":\"c\"}"),
          ErrorCode.STREAM_NOT_FOUND);
      assertOk(ws.call("6", "{\"op\":\"subscribe\",\"id\":\"6\",\"pattern\":\"a\",\"sub\":\"x\"}"));
      assertError(
          ws.call("7", "{\"op\":\"subscribe\",\"id\":\"7\",\"pattern\":\"b\",\"sub\":\"x\"}"),
          ErrorCode.SUBSCRIPTION_EXISTS);
      assertOk(ws.call("8", "{\"op\":\"subscribe\",\"id\":\"8\",\"pattern\":\"b\"}"));
      assertError(
          ws.call("9", "{\"op\":\"subscribe\",\"id\":\"9\",\"pattern\":\"c\"}"),
          ErrorCode.TOO_MANY_SUBSCRIPTIONS);
      JsonNode numeric = ws.call("10", "{\"op\":\"unsubscribe\",\"id\":10,\"sub\":\"x\"}");
      assertOk(numeric);
      assertThat(numeric.path("id").isNumber()).isTrue();
      assertThat(s.server.broker().live().subscriptionCount()).isEqualTo(1);
    }
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRefuseUpgradesPastTheLimitAndRequestsThatAreNoHandshake() throws Exception {
    start(Map.of("http.max-ws-connections", "1"));
    try (WsClient first = WsClient.connect(s, "/v1/ws")) {
      assertThatThrownBy(() -> WsClient.connect(s, "/v1/ws"))
          .isInstanceOf(CompletionException.class)
          .rootCause()
          .hasMessageContaining("503");
      assertThat(frontEnd().webSocketCount()).isEqualTo(1);
      assertOk(first.call("1", "{\"op\":\"subscribe\",\"id\":\"1\",\"pattern\":\"a\"}"));
    }
    await().atMost(WAIT).until(() -> frontEnd().webSocketCount() == 0);
    try (WsClient again = WsClient.connect(s, "/v1/ws")) {
      assertOk(again.call("1", "{\"op\":\"subscribe\",\"id\":\"1\",\"pattern\":\"a\"}"));
    }
    assertProblem(s.get("/v1/ws"), 400, ErrorCode.HTTP_MALFORMED_REQUEST);
    var post = s.post("/v1/ws", "");
    assertProblem(post, 405, ErrorCode.HTTP_METHOD_NOT_ALLOWED);
    assertThat(post.headers().firstValue("allow")).contains("GET");
  }

  @Test
  void shouldCloseASlowReaderWithPolicyViolationAndItsCode() throws Exception {
    start(Map.of("http.ws-max-pending-bytes", "16384"));
    try (Socket reader = new Socket("127.0.0.1", s.httpPort())) {
      OutputStream out = reader.getOutputStream();
      out.write(
          ("GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // RFC 6455 §4.1: a client sends frames only after the server's handshake response.
      InputStream in = reader.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.read());
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 101");
      out.write(maskedText("{\"op\":\"subscribe\",\"id\":\"1\",\"pattern\":\"firehose\"}"));
      out.flush();
      await().atMost(WAIT).until(() -> s.server.broker().live().subscriptionCount() == 1);
      // The reader reads nothing: its socket buffers fill, then the server's queue passes the
      // bound.
      byte[] payload = new byte[64 * 1024];
      for (int i = 0; i < 2000 && s.server.broker().live().subscriptionCount() > 0; i++) {
        s.server.broker().publish(Message.of("firehose", payload, 0), PublishOptions.NONE).join();
      }
      // Cut off: its subscription is gone at once; the close frame waits behind the backlog.
      await().atMost(WAIT).until(() -> s.server.broker().live().subscriptionCount() == 0);
      byte[] all = readToEnd(in);
      // The last frame: close (0x88), status 1008, reason "3024 SLOW_CONSUMER".
      byte[] reason = "3024 SLOW_CONSUMER".getBytes(StandardCharsets.UTF_8);
      byte[] close = new byte[4 + reason.length];
      close[0] = (byte) 0x88;
      close[1] = (byte) (2 + reason.length);
      close[2] = (byte) (1008 >> 8);
      close[3] = (byte) (1008 & 0xff);
      System.arraycopy(reason, 0, close, 4, reason.length);
      assertThat(endsWith(all, close)).as("ends with a 1008 close frame naming 3024").isTrue();
    }
    await().atMost(WAIT).until(() -> frontEnd().webSocketCount() == 0);
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  /** A client text frame (RFC 6455 §5.2): FIN, opcode 1, masked, payload under 126 bytes. */
  static byte[] maskedText(String text) {
    byte[] p = text.getBytes(StandardCharsets.UTF_8);
    byte[] mask = {1, 2, 3, 4};
    byte[] f = new byte[6 + p.length];
    f[0] = (byte) 0x81;
    f[1] = (byte) (0x80 | p.length);
    System.arraycopy(mask, 0, f, 2, 4);
    for (int i = 0; i < p.length; i++) {
      f[6 + i] = (byte) (p[i] ^ mask[i % 4]);
    }
    return f;
  }

  static byte[] readToEnd(InputStream in) throws Exception {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        all.write(buf, 0, n);
      }
    } catch (SocketException e) {
      // a reset after the close frame: what was read is the answer
    }
    return all.toByteArray();
  }

  static boolean endsWith(byte[] all, byte[] tail) {
    if (all.length < tail.length) {
      return false;
    }
    for (int i = 0; i < tail.length; i++) {
      if (all[all.length - tail.length + i] != tail[i]) {
        return false;
      }
    }
    return true;
  }
}
