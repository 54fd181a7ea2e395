package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.utf8;
import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.SseClient;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/streams/{stream}/events}: a stream replayed and followed over SSE, resumed exactly
 * after a Last-Event-ID; and CORS for pages of other origins.
 */
@ExtendWith(LeakCheck.class)
class StreamEventsEndToEndTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  HttpServerFixture s;

  @AfterEach
  void stop() {
    if (s != null) {
      s.close();
    }
  }

  SseClient sse(String path, String... headers) throws Exception {
    HttpRequest.Builder b = s.request(path).timeout(Duration.ofMinutes(5)).GET();
    if (headers.length > 0) {
      b.headers(headers);
    }
    return SseClient.open(s.http, b.build());
  }

  static List<String> texts(SseClient c) throws Exception {
    List<String> out = new ArrayList<>();
    for (SseClient.Event e : c.ofType("message")) {
      out.add(JSON.readTree(e.data()).path("text").asText());
    }
    return out;
  }

  List<ConsumerInfo> consumers(String stream) {
    return s.server.broker().listConsumers(stream);
  }

  @Test
  void aReconnectWithLastEventIdContinuesRightAfterItNothingLostOrRepeated() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
    s.server.broker().createStream(StreamConfig.builder("NEWS", "news.>").build());
    try (SwitchboardClient client = s.nativeClient()) {
      for (int i = 0; i < 5; i++) {
        client.publish("news.a", utf8("n" + i));
      }
      String lastId;
      try (SseClient first = sse("/v1/streams/NEWS/events?start=earliest")) {
        assertThat(first.response.statusCode()).isEqualTo(200);
        await().atMost(WAIT).until(() -> first.ofType("message").size() == 5);
        client.publish("news.b", utf8("n5"));
        await().atMost(WAIT).until(() -> first.ofType("message").size() == 6);
        assertThat(texts(first)).containsExactly("n0", "n1", "n2", "n3", "n4", "n5");
        // One partition: each id is the offset after the event.
        assertThat(first.ofType("message").get(0).id()).isEqualTo("1");
        lastId = first.ofType("message").get(3).id(); // as if the connection dropped after n3
        assertThat(lastId).isEqualTo("4");
      }
      await().atMost(WAIT).until(() -> consumers("NEWS").isEmpty());
      client.publish("news.a", utf8("n6")); // while nobody listens
      try (SseClient again = sse("/v1/streams/NEWS/events", "Last-Event-ID", lastId)) {
        await().atMost(WAIT).until(() -> again.ofType("message").size() == 3);
        assertThat(texts(again)).containsExactly("n4", "n5", "n6");
        assertThat(again.ofType("message").get(2).id()).isEqualTo("7");
      }
    }
  }

  @Test
  void aPositionCoversEveryPartitionAndAFilterNarrowsTheSubjects() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
    s.server.broker().createStream(StreamConfig.builder("P3", "p3.>").partitions(3).build());
    try (SwitchboardClient client = s.nativeClient()) {
      for (int i = 0; i < 30; i++) {
        client.publish("p3.k" + (i % 10), utf8("v" + i));
      }
      String position;
      try (SseClient all = sse("/v1/streams/P3/events?start=earliest")) {
        await().atMost(WAIT).until(() -> all.ofType("message").size() == 30);
        position = all.ofType("message").get(29).id();
        assertThat(position.split(",")).hasSize(3);
        long total = 0;
        for (String n : position.split(",")) {
          total += Long.parseLong(n);
        }
        assertThat(total).isEqualTo(30);
      }
      try (SseClient resumed = sse("/v1/streams/P3/events", "Last-Event-ID", position);
          SseClient k1 = sse("/v1/streams/P3/events?start=earliest&subject=p3.k1")) {
        await().atMost(WAIT).until(() -> k1.ofType("message").size() == 3);
        assertThat(texts(k1)).containsExactly("v1", "v11", "v21");
        client.publish("p3.k2", utf8("late"));
        await().atMost(WAIT).until(() -> resumed.ofType("message").size() == 1);
        assertThat(texts(resumed)).containsExactly("late");
      }
    }
  }

  @Test
  void badPositionsAndUnknownStreamsAreRefusedBeforeStreaming() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
    s.server.broker().createStream(StreamConfig.builder("ONE", "one.>").build());
    assertProblem(s.get("/v1/streams/NOPE/events"), 404, ErrorCode.STREAM_NOT_FOUND);
    assertProblem(s.get("/v1/streams/ONE/events?start=yesterday"), 400, ErrorCode.INVALID_ARGUMENT);
    assertProblem(
        s.send(s.request("/v1/streams/ONE/events").header("Last-Event-ID", "3,4").GET().build()),
        400,
        ErrorCode.INVALID_ARGUMENT);
    assertProblem(
        s.send(s.request("/v1/streams/ONE/events").header("Last-Event-ID", "-2").GET().build()),
        400,
        ErrorCode.INVALID_ARGUMENT);
    assertProblem(s.get("/v1/streams/ONE/events?subject=one..x"), 400, ErrorCode.INVALID_PATTERN);
    assertThat(consumers("ONE")).isEmpty();
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void pagesOfAllowedOriginsGetCorsHeadersAndOthersDoNot() throws Exception {
    s = HttpServerFixture.start(dir, Map.of("http.cors-origins", "http://app.test:8080"));
    HttpResponse<String> preflight =
        s.send(
            s.request("/v1/subjects/a.b")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "http://app.test:8080")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "content-type")
                .build());
    assertThat(preflight.statusCode()).isEqualTo(204);
    assertThat(preflight.headers().firstValue("access-control-allow-origin"))
        .hasValue("http://app.test:8080");
    assertThat(preflight.headers().firstValue("access-control-allow-methods"))
        .hasValueSatisfying(v -> assertThat(v).contains("POST"));
    assertThat(preflight.headers().firstValue("access-control-allow-headers"))
        .hasValue("content-type");

    HttpResponse<String> allowed =
        s.send(
            s.request("/v1/subjects/a.b")
                .header("Origin", "http://app.test:8080")
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build());
    assertThat(allowed.statusCode()).isEqualTo(200);
    assertThat(allowed.headers().firstValue("access-control-allow-origin"))
        .hasValue("http://app.test:8080");
    assertThat(allowed.headers().firstValue("vary")).hasValue("origin");

    HttpResponse<String> other =
        s.send(
            s.request("/v1/subjects/a.b")
                .header("Origin", "http://evil.test")
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build());
    assertThat(other.headers().firstValue("access-control-allow-origin")).isEmpty();

    try (SseClient events = sse("/v1/subjects/a.%3E/events", "Origin", "http://app.test:8080")) {
      assertThat(events.response.headers().firstValue("access-control-allow-origin"))
          .hasValue("http://app.test:8080");
    }
  }

  @Test
  void aWebSocketFromAnOriginNotListedIsRefused() throws Exception {
    s = HttpServerFixture.start(dir, Map.of("http.cors-origins", "http://app.test:8080"));
    String handshake =
        "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Origin: %s\r\n\r\n";
    assertThat(statusLine(String.format(handshake, s.httpPort(), "http://evil.test")))
        .contains(" 403 ");
    assertThat(statusLine(String.format(handshake, s.httpPort(), "http://app.test:8080")))
        .contains(" 101 ");
    assertThat(
            statusLine(String.format(handshake, s.httpPort(), "http://127.0.0.1:" + s.httpPort())))
        .as("same origin")
        .contains(" 101 ");
  }

  String statusLine(String request) throws Exception {
    try (java.net.Socket sock = new java.net.Socket("127.0.0.1", s.httpPort())) {
      sock.setSoTimeout(10_000);
      sock.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new java.io.BufferedReader(
              new java.io.InputStreamReader(
                  sock.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII))
          .readLine();
    }
  }
}
