package io.switchboard.http;

import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.RawHttp;
import io.switchboard.http.testing.WsClient;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests a careless or hostile client sends (issue 12 §3, a bad-input trial): each is refused
 * with the status and code that say what was wrong, in the caller's terms. One server for the
 * class; each test uses its own subjects and streams.
 */
@ExtendWith(LeakCheck.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputEndToEndTest {
  HttpServerFixture s;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
  }

  @AfterAll
  void stop() {
    if (s != null) {
      s.close();
    }
  }

  @Test
  void shouldAnswer505ToAnHttpVersionItDoesNotSpeak() throws Exception {
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      String answer = raw.send("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n").readToEnd();
      assertThat(answer).startsWith("HTTP/1.1 505 ");
      assertThat(answer)
          .contains("\"error\":\"HTTP_VERSION_NOT_SUPPORTED\"")
          .contains("HTTP version HTTP/9.9 is not supported");
    }
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRefuseAPublishToTheEmptySubjectAsAnInvalidSubject() {
    var p = assertProblem(s.post("/v1/subjects/", "x"), 400, ErrorCode.INVALID_SUBJECT);
    assertThat(p.path("detail").asText()).contains("empty");
    // Without the slash it is still a batch publish.
    assertThat(s.post("/v1/subjects", "[]").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRefuseAPercentEncodedSubjectThatIsNotUtf8() {
    var p = assertProblem(s.post("/v1/subjects/a.%FF", "x"), 400, ErrorCode.INVALID_SUBJECT);
    assertThat(p.path("detail").asText()).contains("a.%FF").contains("not valid UTF-8");
    assertProblem(s.post("/v1/requests/a.%C3", "x"), 400, ErrorCode.INVALID_SUBJECT);
    assertProblem(s.get("/v1/subjects/a.%FF.*/events"), 400, ErrorCode.INVALID_PATTERN);
    var stream = assertProblem(s.get("/v1/streams/%FE"), 400, ErrorCode.INVALID_ARGUMENT);
    assertThat(stream.path("detail").asText()).contains("stream").contains("%FE");
  }

  @Test
  void shouldKeepAPercentEncodedUtf8SubjectAsSent() {
    assertThat(s.post("/v1/streams", "{\"name\":\"UTF\",\"subjects\":[\"utf.>\"]}").statusCode())
        .isEqualTo(201);
    assertThat(s.post("/v1/subjects/utf.caf%C3%A9+1", "x").statusCode()).isEqualTo(200);
    HttpResponse<String> last = s.get("/v1/streams/UTF/subjects/utf.caf%C3%A9+1/last");
    assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
    assertThat(HttpServerFixture.json(last).path("subject").asText()).isEqualTo("utf.café+1");
  }

  @Test
  void shouldRefuseANegativeOrNonNumericTimeToLiveNamingTheHeader() {
    for (String ttl : new String[] {"-1", "soon", "1.5", "99999999999999999999"}) {
      var p =
          assertProblem(
              s.post("/v1/subjects/ttl.x", "x", "Sb-Ttl-Ms", ttl), 400, ErrorCode.INVALID_ARGUMENT);
      assertThat(p.path("detail").asText()).as(ttl).contains("Sb-Ttl-Ms");
    }
    assertThat(s.post("/v1/subjects/ttl.x", "x", "Sb-Ttl-Ms", "60000").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRefuseANegativeOrNonNumericDelayNamingTheHeader() {
    for (String h : new String[] {"Sb-Delay-Ms", "Sb-Deliver-At"}) {
      for (String v : new String[] {"-1", "later"}) {
        var p =
            assertProblem(s.post("/v1/subjects/delay.x", "x", h, v), 400, ErrorCode.INVALID_DELAY);
        assertThat(p.path("detail").asText()).as(h + ": " + v).containsIgnoringCase(h);
      }
    }
  }

  @Test
  void shouldRefuseANegativeOrNonNumericQueryParameterNamingIt() {
    var p =
        assertProblem(
            s.post("/v1/requests/nobody.here?timeoutMs=-1", "x"), 400, ErrorCode.INVALID_ARGUMENT);
    assertThat(p.path("detail").asText()).contains("timeoutMs");
    p =
        assertProblem(
            s.get("/v1/streams/NONE/subjects/a.b?max=many"), 400, ErrorCode.INVALID_ARGUMENT);
    assertThat(p.path("detail").asText()).contains("max");
  }

  @Test
  void shouldRefuseAnAckForAPartitionTheStreamDoesNotHave() {
    assertThat(
            s.post("/v1/streams", "{\"name\":\"ACKS\",\"subjects\":[\"acks.>\"],\"partitions\":2}")
                .statusCode())
        .isEqualTo(201);
    assertThat(s.post("/v1/streams/ACKS/consumers", "{\"name\":\"w\"}").statusCode())
        .isEqualTo(201);
    s.post("/v1/subjects/acks.a", "job");
    var got = HttpServerFixture.json(s.post("/v1/streams/ACKS/consumers/w/fetch?waitMs=10000", ""));
    String id = got.path("messages").get(0).path("id").asText();

    var p =
        assertProblem(
            s.post(
                "/v1/streams/ACKS/consumers/w/acks",
                "[{\"id\":\"" + id + "\"},{\"id\":\"7:0:1\"}]"),
            400,
            ErrorCode.INVALID_ARGUMENT);
    assertThat(p.path("detail").asText())
        .contains("ack 1")
        .contains("partition 7")
        .contains("ACKS has 2 partitions");
    // Nothing was applied: the good entry is still unacknowledged, and acks now.
    HttpResponse<String> ok =
        s.post("/v1/streams/ACKS/consumers/w/acks", "[{\"id\":\"" + id + "\"}]");
    assertThat(ok.body()).isEqualTo("{\"results\":[true]}");

    try (WsClient ws = WsClient.connect(s, "/v1/ws")) {
      JsonNode answer =
          ws.call(
              "a",
              "{\"op\":\"ack\",\"id\":\"a\",\"stream\":\"ACKS\",\"consumer\":\"w\","
                  + "\"delivery\":\"-1:0:1\"}");
      assertThat(answer.path("op").asText()).as("%s", answer).isEqualTo("error");
      assertThat(answer.path("error").path("error").asText())
          .isEqualTo(ErrorCode.INVALID_ARGUMENT.name());
      assertThat(answer.path("error").path("detail").asText()).contains("partition -1");
    }
  }

  /** What Jackson and Netty put in their messages, and a client must never read. */
  static void assertInUserTerms(String detail) {
    assertThat(detail)
        .doesNotContain("java.")
        .doesNotContain("com.fasterxml")
        .doesNotContain("io.netty")
        .doesNotContain("Exception")
        .doesNotContain("Feature")
        .doesNotContain("`")
        .doesNotContain("Source:")
        .doesNotContain("(code ")
        .doesNotContain("Cannot deserialize")
        .doesNotContain("|");
  }

  String detail(HttpResponse<String> r, int status, ErrorCode code) {
    String detail = assertProblem(r, status, code).path("detail").asText();
    assertInUserTerms(detail);
    return detail;
  }

  @Test
  void shouldSayWhatIsWrongWithJsonInTheWritersTerms() {
    assertThat(detail(s.post("/v1/subjects", "[{\"subject\":"), 400, ErrorCode.INVALID_ARGUMENT))
        .endsWith("the body is not valid JSON: unexpected end at line 1 column 13");
    assertThat(detail(s.post("/v1/subjects", "[{'a':1}]"), 400, ErrorCode.INVALID_ARGUMENT))
        .contains("unexpected single quote")
        .contains("line 1 column 3");
    assertThat(detail(s.post("/v1/subjects", "{\"a\":NaN}"), 400, ErrorCode.INVALID_ARGUMENT))
        .contains("NaN");
    assertThat(
            detail(
                s.post("/v1/subjects", "[{\"subject\":\"a.b\",\"text\":[1]}]"),
                400,
                ErrorCode.INVALID_ARGUMENT))
        .endsWith("entry 0: field \"text\" must be a string");
    assertThat(
            detail(
                s.post("/v1/subjects", "[{\"subject\":\"a.b\",\"base64\":\"@@\"}]"),
                400,
                ErrorCode.INVALID_ARGUMENT))
        .contains("\"base64\" is not base64");

    JsonNode rpc = HttpServerFixture.json(s.post("/v1/jsonrpc", "{\"jsonrpc\":"));
    assertThat(rpc.path("error").path("code").asInt()).isEqualTo(JsonRpc.PARSE_ERROR);
    String rpcDetail = rpc.path("error").path("data").path("detail").asText();
    assertInUserTerms(rpcDetail);
    assertThat(rpcDetail).endsWith("unexpected end at line 1 column 12");

    assertThat(detail(s.post("/v1/streams", "{\"name\":"), 400, ErrorCode.INVALID_ARGUMENT))
        .endsWith("admin body is not valid JSON: unexpected end at line 1 column 9");
    assertThat(
            detail(
                s.post("/v1/streams", "{\"name\":\"J\",\"subjects\":\"j.>\"}"),
                400,
                ErrorCode.INVALID_CONFIG))
        .endsWith("field \"subjects\" must be an array");
    assertThat(
            detail(
                s.post(
                    "/v1/streams",
                    "{\"name\":\"J\",\"subjects\":[\"j.>\"],\"partitions\":\"two\"}"),
                400,
                ErrorCode.INVALID_CONFIG))
        .contains("field \"partitions\" must be a whole number")
        .endsWith("not \"two\"");
    assertThat(
            detail(
                s.post(
                    "/v1/streams",
                    "{\"name\":\"J\",\"subjects\":[\"j.>\"],\"retention\":\"forever\"}"),
                400,
                ErrorCode.INVALID_CONFIG))
        .contains("field \"retention\" must be one of limits, work_queue, compacted");
    assertThat(
            detail(
                s.post("/v1/streams", "{\"name\":\"J\",\"subjects\":[\"j.>\"],\"maxAgeMs\":1e400}"),
                400,
                ErrorCode.INVALID_CONFIG))
        .contains("field \"maxAgeMs\" must be a whole number");
    assertThat(s.post("/v1/streams", "{\"name\":\"J\",\"subjects\":[\"j.>\"]}").statusCode())
        .isEqualTo(201);
    assertThat(
            detail(
                s.post("/v1/streams/J/consumers", "{\"name\":\"c\",\"backoffMs\":\"1s\"}"),
                400,
                ErrorCode.INVALID_CONFIG))
        .endsWith("field \"backoffMs\" must be an array");
  }

  @Test
  void shouldSayWhatIsWrongWithAnHttpRequestWithoutNettysWords() throws Exception {
    Map<String, String> said =
        Map.of(
            "GARBAGE\r\n\r\n",
            "the request line is not METHOD TARGET HTTP/1.1",
            "GET /healthz FOO/1.1\r\nHost: x\r\n\r\n",
            "the request line is not",
            "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
            "Content-Length must be one whole number",
            "GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n",
            "a header line has no colon",
            "POST /v1/subjects/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "malformed chunked body",
            // The JDK's client refuses to send a bad escape, so these go raw too.
            "POST /v1/subjects/a.b?key=%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "bad escape in the query",
            "POST /v1/subjects/a.b%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "a % must be followed by two hex digits",
            "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n",
            "Sec-WebSocket-Key is missing");
    for (Map.Entry<String, String> e : said.entrySet()) {
      try (RawHttp raw = new RawHttp(s.httpPort())) {
        // A malformed request closes the connection; the others keep it: read one problem.
        String answer = raw.send(e.getKey()).readUntil("\"retriable\":false}");
        assertThat(answer).as(e.getKey()).startsWith("HTTP/1.1 400 ");
        String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
        String detail = new ObjectMapper().readTree(body).path("detail").asText();
        assertInUserTerms(detail);
        assertThat(detail).as(e.getKey()).contains(e.getValue());
      }
    }
  }
}
