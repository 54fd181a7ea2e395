package io.switchboard.http;

import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.RawHttp;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP with authentication required and rules that deny by default (issue 18): Basic credentials,
 * 401/403 in the problem shape, the users and rules API, and the defences against web pages driving
 * the server (Origin, simple content types, Host).
 */
class HttpSecurityTest {
  static final String SECRET = "an-hmac-secret-of-at-least-32-bytes!!";

  @TempDir Path dir;
  HttpServerFixture s;

  @BeforeEach
  void start() throws Exception {
    s =
        HttpServerFixture.start(
            dir,
            Map.of(
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.failure-delay-ms",
                "10",
                "auth.jwt.secret",
                SECRET));
    SecurityAdmin admin = s.server.security();
    admin.addUser("alice", "alice-pw", "test");
    admin.addUser("root", "root-pw", "test");
    rule(admin, "user:alice", Permission.PUBLISH, "orders.>");
    rule(admin, "user:root", Permission.ADMIN, ">");
  }

  static void rule(SecurityAdmin admin, String who, Permission p, String resource) {
    admin.addRule(new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), resource), "test");
  }

  @AfterEach
  void stop() {
    s.close();
  }

  static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  HttpResponse<String> post(String path, String body, String auth) {
    return s.send(
        s.request(path)
            .header("Authorization", auth)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  HttpResponse<String> get(String path, String auth) {
    return s.send(s.request(path).header("Authorization", auth).GET().build());
  }

  @Test
  void requestsWithoutValidCredentialsGet401WithTheSchemes() {
    HttpResponse<String> none = s.post("/v1/subjects/orders.1", "x");
    assertProblem(none, 401, ErrorCode.AUTHENTICATION_REQUIRED);
    assertThat(none.headers().firstValue("WWW-Authenticate").orElse(""))
        .contains("Basic", "Bearer");
    assertProblem(
        post("/v1/subjects/orders.1", "x", basic("alice", "wrong")),
        401,
        ErrorCode.AUTHENTICATION_FAILED);
    assertProblem(
        post("/v1/subjects/orders.1", "x", basic("nobody", "wrong")),
        401,
        ErrorCode.AUTHENTICATION_FAILED);
    // health probes stay open
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void eachRouteIsCheckedAtTheDecisionPoint() {
    String alice = basic("alice", "alice-pw");
    assertThat(post("/v1/subjects/orders.1", "x", alice).statusCode()).isEqualTo(200);
    JsonNode denied =
        assertProblem(
            post("/v1/subjects/payments.1", "x", alice), 403, ErrorCode.PERMISSION_DENIED);
    assertThat(denied.path("detail").asText()).contains("user:alice may not publish payments.1");
    assertProblem(
        post("/v1/subjects", "[{\"subject\":\"orders.2\"},{\"subject\":\"x.y\"}]", alice),
        403,
        ErrorCode.PERMISSION_DENIED);
    assertProblem(get("/v1/streams", alice), 403, ErrorCode.PERMISSION_DENIED);
    assertProblem(
        post("/v1/streams", "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}", alice),
        403,
        ErrorCode.PERMISSION_DENIED);
    assertThat(
            post(
                    "/v1/streams",
                    "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}",
                    basic("root", "root-pw"))
                .statusCode())
        .isEqualTo(201);
  }

  @Test
  void usersAndRulesAreManagedOverTheAdminApi() {
    String root = basic("root", "root-pw");
    assertThat(
            post("/v1/security/users", "{\"name\":\"carol\",\"password\":\"c-pw\"}", root)
                .statusCode())
        .isEqualTo(201);
    assertThat(get("/v1/security/users", root).body()).contains("carol");
    HttpResponse<String> added =
        post(
            "/v1/security/acls",
            "{\"effect\":\"allow\",\"principal\":\"user:carol\",\"permissions\":[\"publish\"],"
                + "\"resource\":\"carol.>\"}",
            root);
    assertThat(added.statusCode()).isEqualTo(201);
    String id = HttpServerFixture.json(added).path("id").asText();
    String carol = basic("carol", "c-pw");
    assertThat(post("/v1/subjects/carol.x", "1", carol).statusCode()).isEqualTo(200);
    assertThat(
            s.send(
                    s.request("/v1/security/acls/" + id)
                        .header("Authorization", root)
                        .DELETE()
                        .build())
                .statusCode())
        .isEqualTo(204);
    assertProblem(post("/v1/subjects/carol.x", "2", carol), 403, ErrorCode.PERMISSION_DENIED);
    assertProblem(
        get("/v1/security/users", basic("alice", "alice-pw")), 403, ErrorCode.PERMISSION_DENIED);
    assertProblem(
        post("/v1/security/users", "{\"name\":\"carol\",\"password\":\"x\"}", root),
        409,
        ErrorCode.USER_EXISTS);
  }

  @Test
  void aWebPageCannotDriveTheServer() throws Exception {
    String alice = basic("alice", "alice-pw");
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send(
          "POST /v1/subjects/orders.1 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example"
              + "\r\nAuthorization: "
              + alice
              + "\r\nContent-Type: application/json\r\nContent-Length: 1\r\nConnection: close"
              + "\r\n\r\nx");
      String answer = raw.readToEnd();
      assertThat(answer).startsWith("HTTP/1.1 403").contains("HTTP_ORIGIN_NOT_ALLOWED");
    }
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send(
          "POST /v1/subjects/orders.1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain"
              + "\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
      assertThat(raw.readToEnd()).startsWith("HTTP/1.1 415").contains("HTTP_SIMPLE_CONTENT_TYPE");
    }
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send(
          "GET /healthz HTTP/1.1\r\nHost: rebound.attacker.example:7480\r\nConnection: close"
              + "\r\n\r\n");
      assertThat(raw.readToEnd()).startsWith("HTTP/1.1 421").contains("HTTP_HOST_NOT_ALLOWED");
    }
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("GET /healthz HTTP/1.1\r\nHost: localhost:7480\r\nConnection: close\r\n\r\n");
      assertThat(raw.readToEnd()).startsWith("HTTP/1.1 200");
    }
  }

  static String token(String subject) throws Exception {
    com.nimbusds.jwt.SignedJWT jwt =
        new com.nimbusds.jwt.SignedJWT(
            new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256),
            new com.nimbusds.jwt.JWTClaimsSet.Builder()
                .subject(subject)
                .expirationTime(new java.util.Date(System.currentTimeMillis() + 60_000))
                .build());
    jwt.sign(new com.nimbusds.jose.crypto.MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  @Test
  void anEventSourceAuthenticatesWithAnAccessTokenParameter() throws Exception {
    rule(s.server.security(), "token:dashboard", Permission.SUBSCRIBE, "orders.>");
    String path = "/v1/subjects/orders.%3E/events?access_token=" + token("dashboard");
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
      assertThat(raw.readUntil("\r\n\r\n"))
          .startsWith("HTTP/1.1 200")
          .contains("text/event-stream");
    }
    String denied = "/v1/subjects/payments.%3E/events?access_token=" + token("dashboard");
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      raw.send("GET " + denied + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      assertThat(raw.readToEnd()).startsWith("HTTP/1.1 403").contains("PERMISSION_DENIED");
    }
    assertProblem(
        s.get("/v1/subjects/orders.%3E/events?access_token=" + token("dashboard") + "x"),
        401,
        ErrorCode.AUTHENTICATION_FAILED);
  }

  /**
   * Whole-stream reads: a reader that may read the stream but not every subject in it gets the
   * others skipped (SSE replay, WebSocket follow), is refused a read of one forbidden subject
   * (403), and is refused a consumer that could deliver one (403); one filtered to readable
   * subjects works.
   */
  @Test
  void streamReadsNeverCarryASubjectTheReaderMayNotSubscribeTo() throws Exception {
    SecurityAdmin admin = s.server.security();
    rule(admin, "user:root", Permission.PUBLISH, ">");
    rule(admin, "token:reader", Permission.CONSUME, "ORDERS.>");
    rule(admin, "token:reader", Permission.SUBSCRIBE, "orders.>");
    admin.addRule(
        new AclRule(
            "",
            AclRule.Effect.DENY,
            "token:reader",
            EnumSet.of(Permission.SUBSCRIBE),
            "orders.secret.>"),
        "test");
    String root = basic("root", "root-pw");
    assertThat(
            post("/v1/streams", "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}", root)
                .statusCode())
        .isEqualTo(201);
    for (String subject : new String[] {"orders.1", "orders.secret.1", "orders.2"}) {
      assertThat(post("/v1/subjects/" + subject, "x", root).statusCode()).isEqualTo(200);
    }
    assertThat(post("/v1/streams/ORDERS/consumers", "{\"name\":\"all\"}", root).statusCode())
        .isEqualTo(201);
    assertThat(
            post(
                    "/v1/streams/ORDERS/consumers",
                    "{\"name\":\"open\",\"filter\":\"orders.*\"}",
                    root)
                .statusCode())
        .isEqualTo(201);
    String token = token("reader");
    String bearer = "Bearer " + token;
    assertThat(get("/v1/streams/ORDERS/subjects/orders.1", bearer).statusCode()).isEqualTo(200);
    assertProblem(
        get("/v1/streams/ORDERS/subjects/orders.secret.1", bearer),
        403,
        ErrorCode.PERMISSION_DENIED);
    assertProblem(
        get("/v1/streams/ORDERS/subjects/orders.secret.1/last", bearer),
        403,
        ErrorCode.PERMISSION_DENIED);
    JsonNode refused =
        assertProblem(
            post("/v1/streams/ORDERS/consumers/all/fetch?max=10", "", bearer),
            403,
            ErrorCode.PERMISSION_DENIED);
    assertThat(refused.path("detail").asText()).contains("every subject of ORDERS's consumer all");
    HttpResponse<String> fetched =
        post("/v1/streams/ORDERS/consumers/open/fetch?max=10&waitMs=5000", "", bearer);
    assertThat(fetched.statusCode()).isEqualTo(200);
    assertThat(fetched.body()).contains("orders.1", "orders.2").doesNotContain("secret");
    try (io.switchboard.http.testing.SseClient sse =
        io.switchboard.http.testing.SseClient.open(
            s.http,
            s.request("/v1/streams/ORDERS/events?start=earliest&access_token=" + token)
                .header("Accept", "text/event-stream")
                .GET()
                .build())) {
      assertThat(post("/v1/subjects/orders.secret.2", "x", root).statusCode()).isEqualTo(200);
      assertThat(post("/v1/subjects/orders.3", "x", root).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(20))
          .until(() -> sse.ofType("message").size() >= 3);
      assertThat(sse.ofType("message"))
          .extracting(e -> subjectOf(e.data()))
          .containsExactly("orders.1", "orders.2", "orders.3");
    }
    try (io.switchboard.http.testing.WsClient ws =
        io.switchboard.http.testing.WsClient.connect(s, "/v1/ws?access_token=" + token)) {
      JsonNode ok =
          ws.call(
              "1",
              "{\"op\":\"follow\",\"id\":\"1\",\"stream\":\"ORDERS\",\"start\":\"earliest\",\"sub\":\"f\"}");
      assertThat(ok.path("op").asText()).as("%s", ok).isEqualTo("ok");
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(20))
          .until(() -> ws.messages("f").size() >= 3);
      assertThat(ws.messages("f"))
          .extracting(m -> m.path("message").path("subject").asText())
          .containsExactly("orders.1", "orders.2", "orders.3");
      JsonNode no =
          ws.call(
              "2", "{\"op\":\"consume\",\"id\":\"2\",\"stream\":\"ORDERS\",\"consumer\":\"all\"}");
      assertThat(no.path("error").path("error").asText())
          .as("%s", no)
          .isEqualTo("PERMISSION_DENIED");
    }
    assertThat(s.server.security().skippedReads()).isGreaterThanOrEqualTo(4);
  }

  /**
   * A WebSocket consume whose grant is revoked ends at its next delivery, with an error (issue 18).
   */
  @Test
  void aWebSocketConsumeEndsWhenItsGrantIsRevoked() throws Exception {
    SecurityAdmin admin = s.server.security();
    rule(admin, "user:root", Permission.PUBLISH, ">");
    AclRule consume =
        admin.addRule(
            new AclRule(
                "", AclRule.Effect.ALLOW, "token:worker", EnumSet.of(Permission.CONSUME), "JOBS.w"),
            "test");
    rule(admin, "token:worker", Permission.SUBSCRIBE, "jobs.>");
    String root = basic("root", "root-pw");
    assertThat(
            post("/v1/streams", "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"]}", root).statusCode())
        .isEqualTo(201);
    assertThat(post("/v1/streams/JOBS/consumers", "{\"name\":\"w\"}", root).statusCode())
        .isEqualTo(201);
    String token = token("worker");
    try (io.switchboard.http.testing.WsClient ws =
        io.switchboard.http.testing.WsClient.connect(s, "/v1/ws?access_token=" + token)) {
      JsonNode ok =
          ws.call(
              "1",
              "{\"op\":\"consume\",\"id\":\"1\",\"stream\":\"JOBS\",\"consumer\":\"w\",\"sub\":\"c\"}");
      assertThat(ok.path("op").asText()).as("%s", ok).isEqualTo("ok");
      assertThat(post("/v1/subjects/jobs.1", "x", root).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(20))
          .until(() -> ws.messages("c").size() == 1);

      admin.removeRule(consume.id(), "test");
      assertThat(post("/v1/subjects/jobs.2", "x", root).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(20))
          .until(
              () ->
                  ws.received.stream()
                      .anyMatch(
                          m ->
                              m.path("op").asText().equals("error")
                                  && m.path("sub").asText().equals("c")));
      assertThat(ws.received)
          .filteredOn(m -> m.path("op").asText().equals("error"))
          .singleElement()
          .satisfies(
              m ->
                  assertThat(m.path("error").path("error").asText())
                      .isEqualTo("PERMISSION_DENIED"));
      assertThat(ws.messages("c"))
          .extracting(m -> m.path("message").path("subject").asText())
          .containsExactly("jobs.1");
    }
  }

  /** An SSE consumer stream whose grant is revoked ends at its next delivery (issue 18). */
  @Test
  void anSseConsumerStreamEndsWhenItsGrantIsRevoked() throws Exception {
    SecurityAdmin admin = s.server.security();
    rule(admin, "user:root", Permission.PUBLISH, ">");
    AclRule consume =
        admin.addRule(
            new AclRule(
                "", AclRule.Effect.ALLOW, "token:worker", EnumSet.of(Permission.CONSUME), "JOBS.w"),
            "test");
    rule(admin, "token:worker", Permission.SUBSCRIBE, "jobs.>");
    String root = basic("root", "root-pw");
    assertThat(
            post("/v1/streams", "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"]}", root).statusCode())
        .isEqualTo(201);
    assertThat(post("/v1/streams/JOBS/consumers", "{\"name\":\"w\"}", root).statusCode())
        .isEqualTo(201);
    String token = token("worker");
    try (io.switchboard.http.testing.SseClient sse =
        io.switchboard.http.testing.SseClient.open(
            s.http,
            s.request("/v1/streams/JOBS/consumers/w/events?access_token=" + token)
                .header("Accept", "text/event-stream")
                .GET()
                .build())) {
      assertThat(post("/v1/subjects/jobs.1", "x", root).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(20))
          .until(() -> sse.ofType("message").size() == 1);
      admin.removeRule(consume.id(), "test");
      assertThat(post("/v1/subjects/jobs.2", "x", root).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(20))
          .until(() -> sse.ofType("error").size() == 1);
      assertThat(sse.ofType("error").get(0).data()).contains("PERMISSION_DENIED");
      assertThat(sse.ofType("message"))
          .extracting(e -> subjectOf(e.data()))
          .containsExactly("jobs.1");
    }
  }

  static String subjectOf(String json) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(json)
          .path("subject")
          .asText();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
