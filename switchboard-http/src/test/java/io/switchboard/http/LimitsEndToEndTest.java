package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.RawHttp;
import io.switchboard.testkit.netty.LeakCheck;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Every limit hit on purpose: each answers with its status and code, and the server serves on. */
@ExtendWith(LeakCheck.class)
class LimitsEndToEndTest {
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

  void assertStillServing() {
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRefuseABodyOverTheLimitBeforeReadingIt() throws Exception {
    start(Map.of("http.max-body-bytes", "1024"));
    var r =
        assertProblem(
            s.post("/v1/subjects/a.b", "x".repeat(2000)), 413, ErrorCode.HTTP_BODY_TOO_LARGE);
    assertThat(r.path("detail").asText()).contains("2000").contains("1024");
    assertThat(s.post("/v1/subjects/a.b", "x".repeat(1000)).statusCode()).isEqualTo(200);
    assertStillServing();
  }

  @Test
  void shouldRefuseAChunkedBodyOverTheLimit() throws Exception {
    start(Map.of("http.max-body-bytes", "1024"));
    HttpResponse<String> r =
        s.send(
            s.request("/v1/subjects/a.b")
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(new byte[4096])))
                .build());
    assertProblem(r, 413, ErrorCode.HTTP_BODY_TOO_LARGE);
    assertStillServing();
  }

  @Test
  void shouldRefuseMessagesOverTheStreamsLimit() throws Exception {
    start(Map.of());
    s.post(
        "/v1/streams", "{\"name\":\"SMALL\",\"subjects\":[\"small.>\"],\"maxMessageBytes\":1024}");
    assertProblem(
        s.post("/v1/subjects/small.x", "y".repeat(5000)), 413, ErrorCode.MESSAGE_TOO_LARGE);
    assertStillServing();
  }

  @Test
  void shouldAnswerASlowLorisWith408AndClose() throws Exception {
    start(Map.of("http.header-timeout-ms", "300"));
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("POST /v1/subjects/a.b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
      String answer = raw.readToEnd();
      assertThat(answer).startsWith("HTTP/1.1 408").contains("HTTP_REQUEST_INCOMPLETE");
    }
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("GET /healthz HTTP/1.1\r\nHo");
      assertThat(raw.readToEnd()).startsWith("HTTP/1.1 408");
    }
    assertStillServing();
  }

  @Test
  void shouldAnswerMalformedRequestsWith400() throws Exception {
    start(Map.of());
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("THIS IS NOT HTTP\r\n\r\n");
      String answer = raw.readToEnd();
      assertThat(answer).startsWith("HTTP/1.1 400").contains("HTTP_MALFORMED_REQUEST");
    }
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n");
      assertThat(raw.readToEnd()).startsWith("HTTP/1.1 400").contains("headers too large");
    }
    assertStillServing();
  }

  @Test
  void shouldServeSeveralRequestsOnOneKeepAliveConnection() throws Exception {
    start(Map.of());
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      // Pipelined: both sent before either is answered; answered in order.
      raw.send(
          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              + "POST /v1/subjects/a.b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
      String both = raw.readUntil("\"durability\"");
      assertThat(both).contains("\"up\"");
      assertThat(both.indexOf("\"up\"")).isLessThan(both.indexOf("\"durability\""));
    }
  }

  @Test
  void shouldCloseIdleConnections() throws Exception {
    start(Map.of("http.idle-timeout-ms", "1000"));
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      await().atMost(WAIT).until(() -> s.httpFrontEnd().connectionCount() == 1);
      assertThat(raw.readToEnd()).isEmpty();
    }
    await().atMost(WAIT).until(() -> s.httpFrontEnd().connectionCount() == 0);
  }

  @Test
  void shouldRefuseConnectionsPastTheLimit() throws Exception {
    start(Map.of("http.max-connections", "2"));
    try (RawHttp a = new RawHttp(s.httpPort());
        RawHttp b = new RawHttp(s.httpPort())) {
      await().atMost(WAIT).until(() -> s.httpFrontEnd().connectionCount() == 2);
      assertThat(b.socket.isConnected()).isTrue();
      try (RawHttp c = new RawHttp(s.httpPort())) {
        String answer = c.readToEnd();
        assertThat(answer).startsWith("HTTP/1.1 503").contains("TOO_MANY_CONNECTIONS");
      }
      a.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(a.readUntil("\"up\"")).startsWith("HTTP/1.1 200");
    }
    await().atMost(WAIT).until(() -> s.httpFrontEnd().connectionCount() == 0);
    assertStillServing();
  }

  @Test
  void shouldCountFailedRequests() throws Exception {
    start(Map.of());
    long before = s.httpFrontEnd().failedRequestCount();
    s.get("/nowhere");
    assertThat(s.httpFrontEnd().failedRequestCount()).isEqualTo(before + 1);
    assertThat(json(s.get("/readyz")).path("status").asText()).isEqualTo("ready");
  }
}
