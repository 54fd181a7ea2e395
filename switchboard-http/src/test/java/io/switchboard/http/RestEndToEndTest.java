package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Every REST route over real HTTP, against a server started in process. */
@ExtendWith(LeakCheck.class)
class RestEndToEndTest {
  @TempDir Path dir;
  HttpServerFixture s;

  @BeforeEach
  void start() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
  }

  @AfterEach
  void stop() {
    s.close();
  }

  void createStream(String name, String subjects) {
    HttpResponse<String> r =
        s.post("/v1/streams", "{\"name\":\"" + name + "\",\"subjects\":[\"" + subjects + "\"]}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
  }

  @Test
  void shouldAnswerHealthAndReadiness() {
    HttpResponse<String> h = s.get("/healthz");
    assertThat(h.statusCode()).isEqualTo(200);
    assertThat(json(h).path("status").asText()).isEqualTo("up");
    HttpResponse<String> r = s.get("/readyz");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("status").asText()).isEqualTo("ready");
  }

  @Test
  void shouldPublishToAStreamAndSayWhereItWent() {
    createStream("ORDERS", "orders.>");
    HttpResponse<String> r =
        s.send(
            s.request("/v1/subjects/orders.eu.created?key=cust-1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":1}"))
                .header("Content-Type", "application/json")
                .header("Sb-Header-Trace", "abc")
                .build());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode ack = json(r);
    assertThat(ack.path("stream").asText()).isEqualTo("ORDERS");
    assertThat(ack.path("partition").asInt()).isZero();
    assertThat(ack.path("offset").asLong()).isZero();
    assertThat(ack.path("durability").asText()).isEqualTo("written");
    assertThat(ack.path("duplicate").asBoolean()).isFalse();
    assertThat(ack.path("delayed").asBoolean()).isFalse();

    HttpResponse<String> last = s.get("/v1/streams/ORDERS/subjects/orders.eu.created/last");
    assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
    JsonNode m = json(last);
    assertThat(m.path("json").path("id").asInt()).isEqualTo(1);
    assertThat(m.path("key").asText()).isEqualTo("cust-1");
    assertThat(m.path("headers").path("trace").asText()).isEqualTo("abc");
    assertThat(m.path("headers").path("content-type").asText()).isEqualTo("application/json");
    assertThat(last.headers().firstValue("etag")).contains("\"0\"");
  }

  @Test
  void shouldPublishWithoutAStreamToMemory() {
    HttpResponse<String> r = s.post("/v1/subjects/nobody.listens", "x");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("durability").asText()).isEqualTo("memory");
    assertThat(json(r).path("stream").isNull()).isTrue();
  }

  @Test
  void shouldDeduplicateByIdempotencyKey() {
    createStream("ORDERS", "orders.>");
    HttpResponse<String> first = s.post("/v1/subjects/orders.a", "one", "Idempotency-Key", "k-1");
    HttpResponse<String> again = s.post("/v1/subjects/orders.a", "one", "Idempotency-Key", "k-1");
    HttpResponse<String> other = s.post("/v1/subjects/orders.a", "two", "Sb-Msg-Id", "k-2");
    assertThat(json(first).path("duplicate").asBoolean()).isFalse();
    assertThat(json(again).path("duplicate").asBoolean()).isTrue();
    assertThat(json(again).path("offset").asLong()).isEqualTo(json(first).path("offset").asLong());
    assertThat(json(other).path("offset").asLong()).isEqualTo(1);
  }

  @Test
  void shouldAcknowledgeADelayedPublishWithItsDueTime() {
    createStream("LATER", "later.>");
    HttpResponse<String> r = s.post("/v1/subjects/later.x", "soon", "Sb-Delay-Ms", "60000");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(json(r).path("delayed").asBoolean()).isTrue();
    assertThat(json(r).path("offset").asLong()).isEqualTo(-1);
    assertThat(json(r).path("deliverAtMs").asLong()).isGreaterThan(System.currentTimeMillis());
  }

  @Test
  void shouldPublishABatchWithPerEntryResults() {
    createStream("ORDERS", "orders.>");
    HttpResponse<String> r =
        s.post(
            "/v1/subjects",
            """
            [{"subject": "orders.a", "json": {"n": 1}},
             {"subject": "orders.b", "text": "hello", "headers": {"X-Lang": "en"}},
             {"subject": "orders.c", "base64": "AAEC", "key": "k"},
             {"subject": "bad..subject", "text": "x"}]
            """);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode results = json(r).path("results");
    assertThat(results).hasSize(4);
    assertThat(results.get(0).path("offset").asLong()).isZero();
    assertThat(results.get(1).path("offset").asLong()).isEqualTo(1);
    assertThat(results.get(2).path("offset").asLong()).isEqualTo(2);
    assertThat(results.get(3).path("error").path("code").asInt())
        .isEqualTo(ErrorCode.INVALID_SUBJECT.number());
    JsonNode b = json(s.get("/v1/streams/ORDERS/subjects/orders.b/last"));
    assertThat(b.path("text").asText()).isEqualTo("hello");
    assertThat(b.path("headers").path("x-lang").asText()).isEqualTo("en");
    JsonNode c = json(s.get("/v1/streams/ORDERS/subjects/orders.c/last"));
    assertThat(c.path("base64").asText()).isEqualTo("AAEC");
  }

  @Test
  void shouldRefuseAMalformedBatchWholeNamingTheEntry() {
    createStream("ORDERS", "orders.>");
    JsonNode p =
        assertProblem(
            s.post("/v1/subjects", "[{\"subject\": \"orders.a\", \"text\": \"x\", \"colour\": 1}]"),
            400,
            ErrorCode.INVALID_ARGUMENT);
    assertThat(p.path("detail").asText()).contains("entry 0").contains("colour");
    assertThat(json(s.get("/v1/streams/ORDERS")).path("messages").asLong()).isZero();
  }

  @Test
  void shouldAdministerStreams() {
    createStream("ORDERS", "orders.>");
    assertProblem(
        s.post("/v1/streams", "{\"name\":\"ORDERS\",\"subjects\":[\"other.>\"]}"),
        409,
        ErrorCode.STREAM_EXISTS);
    JsonNode info = json(s.get("/v1/streams/ORDERS"));
    assertThat(info.path("config").path("retention").asText()).isEqualTo("limits");
    assertThat(info.path("config").path("fsync").asText()).isNotEmpty();

    HttpResponse<String> created = s.put("/v1/streams/JOBS", "{\"subjects\":[\"jobs.>\"]}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    HttpResponse<String> updated =
        s.put("/v1/streams/JOBS", "{\"subjects\":[\"jobs.>\"],\"maxMessages\":10}");
    assertThat(updated.statusCode()).as(updated.body()).isEqualTo(200);
    assertThat(json(updated).path("config").path("maxMessages").asLong()).isEqualTo(10);
    assertProblem(
        s.put("/v1/streams/JOBS", "{\"name\":\"OTHER\",\"subjects\":[\"jobs.>\"]}"),
        400,
        ErrorCode.INVALID_ARGUMENT);

    JsonNode list = json(s.get("/v1/streams"));
    assertThat(list.path("streams")).hasSize(2);

    assertThat(s.delete("/v1/streams/JOBS").statusCode()).isEqualTo(204);
    assertProblem(s.get("/v1/streams/JOBS"), 404, ErrorCode.STREAM_NOT_FOUND);
    assertProblem(s.delete("/v1/streams/JOBS"), 404, ErrorCode.STREAM_NOT_FOUND);
  }

  @Test
  void shouldRefuseUnknownFieldsAndBadValuesInDefinitions() {
    JsonNode p =
        assertProblem(
            s.post("/v1/streams", "{\"name\":\"X\",\"subjects\":[\"x.>\"],\"colour\":\"red\"}"),
            400,
            ErrorCode.INVALID_CONFIG);
    assertThat(p.path("detail").asText()).contains("colour");
    assertProblem(
        s.post("/v1/streams", "{\"name\":\"X\",\"subjects\":[\"x.>\"],\"retention\":\"forever\"}"),
        400,
        ErrorCode.INVALID_CONFIG);
    JsonNode bad =
        assertProblem(s.post("/v1/streams", "{\"name\":"), 400, ErrorCode.INVALID_ARGUMENT);
    assertThat(bad.path("detail").asText()).contains("not valid JSON");
    createStream("X", "x.>");
    assertProblem(
        s.post("/v1/streams", "{\"name\":\"Y\",\"subjects\":[\"x.a\"]}"),
        409,
        ErrorCode.STREAM_SUBJECTS_OVERLAP);
  }

  @Test
  void shouldAdministerConsumers() {
    createStream("ORDERS", "orders.>");
    String path = "/v1/streams/ORDERS/consumers";
    HttpResponse<String> c =
        s.post(path, "{\"name\":\"billing\",\"mode\":\"shared\",\"ackPolicy\":\"each\"}");
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(json(c).path("config").path("mode").asText()).isEqualTo("shared");
    assertProblem(s.post(path, "{\"name\":\"billing\"}"), 409, ErrorCode.CONSUMER_EXISTS);
    HttpResponse<String> same =
        s.put(path + "/billing", "{\"mode\":\"shared\",\"ackPolicy\":\"each\"}");
    assertThat(same.statusCode()).as(same.body()).isEqualTo(200);
    assertProblem(
        s.put(path + "/billing", "{\"mode\":\"exclusive\"}"), 409, ErrorCode.CONSUMER_EXISTS);
    assertThat(s.put(path + "/audit", "{}").statusCode()).isEqualTo(201);
    assertThat(json(s.get(path)).path("consumers")).hasSize(2);
    assertThat(json(s.get(path + "/billing")).path("stream").asText()).isEqualTo("ORDERS");
    assertThat(s.delete(path + "/audit").statusCode()).isEqualTo(204);
    assertProblem(s.get(path + "/audit"), 404, ErrorCode.CONSUMER_NOT_FOUND);
    assertProblem(s.get("/v1/streams/NOPE/consumers/x"), 404, ErrorCode.STREAM_NOT_FOUND);
    assertProblem(s.get("/v1/streams/NOPE/consumers"), 404, ErrorCode.STREAM_NOT_FOUND);
  }

  @Test
  void shouldFetchAckNackAndRedeliver() {
    createStream("JOBS", "jobs.>");
    s.post("/v1/streams/JOBS/consumers", "{\"name\":\"w\",\"mode\":\"shared\"}");
    for (int i = 0; i < 3; i++) {
      s.post("/v1/subjects/jobs.run", "job-" + i);
    }
    String fetch = "/v1/streams/JOBS/consumers/w/fetch";
    JsonNode got = json(s.post(fetch + "?max=2&waitMs=1000", ""));
    assertThat(got.path("messages")).hasSize(2);
    JsonNode first = got.path("messages").get(0);
    assertThat(first.path("id").asText()).isEqualTo("0:0:1");
    assertThat(first.path("text").asText()).isEqualTo("job-0");
    assertThat(first.path("deliveryCount").asInt()).isEqualTo(1);
    String second = got.path("messages").get(1).path("id").asText();

    HttpResponse<String> acked =
        s.post(
            "/v1/streams/JOBS/consumers/w/acks",
            "[{\"id\":\"0:0:1\"}, {\"id\":\"" + second + "\",\"op\":\"nack\",\"delayMs\":0}]");
    assertThat(acked.statusCode()).as(acked.body()).isEqualTo(200);
    assertThat(json(acked).path("results").toString()).isEqualTo("[true,true]");

    JsonNode next = json(s.post(fetch + "?max=10&waitMs=2000", ""));
    assertThat(next.path("messages").findValuesAsText("text")).contains("job-1", "job-2");
    JsonNode redelivered = next.path("messages").get(0);
    assertThat(redelivered.path("id").asText()).isEqualTo("0:1:2");

    JsonNode empty = json(s.post(fetch + "?waitMs=0", ""));
    assertThat(empty.path("messages")).isEmpty();

    JsonNode inProgress =
        json(
            s.post(
                "/v1/streams/JOBS/consumers/w/acks",
                "[{\"id\":\"0:1:2\",\"op\":\"in_progress\"}]"));
    assertThat(inProgress.path("results").get(0).asBoolean()).isTrue();

    assertProblem(
        s.post("/v1/streams/JOBS/consumers/w/acks", "[{\"id\":\"zero\"}]"),
        400,
        ErrorCode.INVALID_ARGUMENT);
    assertProblem(s.post(fetch + "?max=0", ""), 400, ErrorCode.INVALID_ARGUMENT);
    assertProblem(
        s.post("/v1/streams/JOBS/consumers/nobody/fetch", ""), 404, ErrorCode.CONSUMER_NOT_FOUND);
  }

  @Test
  void shouldLongPollUntilAMessageArrives() throws Exception {
    createStream("JOBS", "jobs.>");
    s.post("/v1/streams/JOBS/consumers", "{\"name\":\"w\"}");
    var pending =
        s.http.sendAsync(
            s.request("/v1/streams/JOBS/consumers/w/fetch?waitMs=30000")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    // The long poll must not hold up other requests, on this or any connection.
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
    s.post("/v1/subjects/jobs.one", "late");
    HttpResponse<String> r = pending.get();
    assertThat(json(r).path("messages").get(0).path("text").asText()).isEqualTo("late");
  }

  @Test
  void shouldAppendEventsWithOptimisticConcurrency() {
    createStream("ACCOUNTS", "account.>");
    String path = "/v1/streams/ACCOUNTS/subjects/account.42";
    HttpResponse<String> first =
        s.post(path, "{\"opened\":true}", "If-None-Match", "*", "Content-Type", "application/json");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(first.headers().firstValue("etag")).contains("\"0\"");
    JsonNode again =
        assertProblem(s.post(path, "{}", "If-None-Match", "*"), 412, ErrorCode.PUBLISH_CONFLICT);
    assertThat(again.path("currentOffset").asLong()).isZero();

    s.post("/v1/subjects/account.7", "other aggregate");
    HttpResponse<String> second = s.post(path, "{\"deposit\":5}", "If-Match", "\"0\"");
    assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
    assertThat(json(second).path("offset").asLong()).isEqualTo(2);
    JsonNode stale =
        assertProblem(s.post(path, "{}", "If-Match", "0"), 412, ErrorCode.PUBLISH_CONFLICT);
    assertThat(stale.path("currentOffset").asLong()).isEqualTo(2);
    assertProblem(s.post(path, "{}", "If-Match", "soon"), 400, ErrorCode.INVALID_ARGUMENT);

    HttpResponse<String> all = s.get(path);
    assertThat(all.statusCode()).isEqualTo(200);
    JsonNode events = json(all).path("events");
    assertThat(events).hasSize(2);
    assertThat(events.get(0).path("json").path("opened").asBoolean()).isTrue();
    assertThat(events.get(1).path("offset").asLong()).isEqualTo(2);
    assertThat(json(all).path("next").asLong()).isEqualTo(3);
    assertThat(json(s.get(path + "?from=1&max=5")).path("events")).hasSize(1);

    assertProblem(
        s.post("/v1/streams/ACCOUNTS/subjects/elsewhere.1", "x", "If-None-Match", "*"),
        412,
        ErrorCode.STREAM_MISMATCH);
    assertProblem(
        s.get("/v1/streams/ACCOUNTS/subjects/account.99/last"), 404, ErrorCode.HTTP_NOT_FOUND);
    assertProblem(s.get("/v1/streams/NONE/subjects/account.1"), 404, ErrorCode.STREAM_NOT_FOUND);
  }

  @Test
  void shouldRefuseInvalidSubjectsAndPatterns() {
    assertProblem(s.post("/v1/subjects/a..b", "x"), 400, ErrorCode.INVALID_SUBJECT);
    assertProblem(s.post("/v1/subjects/a.*", "x"), 400, ErrorCode.INVALID_SUBJECT);
    assertProblem(s.post("/v1/requests/a.%3E", "x"), 400, ErrorCode.INVALID_SUBJECT);
    assertProblem(s.get("/v1/subjects/a.%3E.b/events"), 400, ErrorCode.INVALID_PATTERN);
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldAnswerUnknownRoutesAndMethods() {
    assertProblem(s.get("/v2/nothing"), 404, ErrorCode.HTTP_NOT_FOUND);
    HttpResponse<String> r = s.delete("/v1/subjects/a.b");
    assertProblem(r, 405, ErrorCode.HTTP_METHOD_NOT_ALLOWED);
    assertThat(r.headers().firstValue("allow")).contains("POST");
    HttpResponse<String> events = s.post("/v1/subjects/a.b/events", "");
    assertThat(events.statusCode()).isIn(200, 405);
  }

  @Test
  void shouldAnswerNoRespondersAndTimeoutDistinctly() {
    JsonNode none =
        assertProblem(s.post("/v1/requests/svc.none", "ping"), 503, ErrorCode.NO_RESPONDERS);
    assertThat(none.path("retriable").asBoolean()).isTrue();
    try (var responder = s.nativeClient()) {
      responder.subscribe("svc.silent", m -> {});
      assertProblem(
          s.post("/v1/requests/svc.silent?timeoutMs=200", "ping"), 504, ErrorCode.REQUEST_TIMEOUT);
    }
    assertProblem(
        s.post("/v1/requests/svc.none?timeoutMs=0", "ping"), 400, ErrorCode.INVALID_ARGUMENT);
  }
}
