package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.RawHttp;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Confluent Schema Registry API subset over real HTTP: the requests Confluent's Java client
 * (RestService over HttpURLConnection) sends, its media type, bodies, status codes and error codes.
 */
@ExtendWith(LeakCheck.class)
class SchemaRegistryEndToEndTest {
  static final String MEDIA = "application/vnd.schemaregistry.v1+json";

  static final String USER =
      "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"example\",\"fields\":"
          + "[{\"name\":\"name\",\"type\":\"string\"}]}";

  static final String USER_V2 =
      "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"example\",\"fields\":"
          + "[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"age\",\"type\":\"int\","
          + "\"default\":0}]}";

  static final String USER_BAD =
      "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"example\",\"fields\":"
          + "[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"email\",\"type\":\"string\"}]}";

  static final ObjectMapper JSON = new ObjectMapper();

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

  /** A request as Confluent's RestService builds it: its Content-Type on every call. */
  HttpResponse<String> call(String method, String path, String body) {
    HttpRequest.Builder b = s.request(path).header("Content-Type", MEDIA);
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return s.send(b.build());
  }

  static String schemaBody(String schema) {
    return JSON.createObjectNode().put("schema", schema).toString();
  }

  static void assertError(HttpResponse<String> r, int status, int errorCode) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).contains(MEDIA);
    JsonNode e = json(r);
    assertThat(e.path("error_code").asInt()).as(r.body()).isEqualTo(errorCode);
    assertThat(e.path("message").asText()).isNotBlank();
  }

  @Test
  void shouldAnswerTheRegisterRequestOfConfluentsClientByteForByte() throws Exception {
    // What KafkaAvroSerializer's RestService writes through HttpURLConnection (JDK 17):
    // its Content-Type, then the headers HttpURLConnection adds, then RegisterSchemaRequest.toJson.
    String body = "{\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}";
    String request =
        "POST /subjects/orders-value/versions HTTP/1.1\r\n"
            + "Content-Type: application/vnd.schemaregistry.v1+json\r\n"
            + "User-Agent: Java/17.0.13\r\n"
            + "Host: 127.0.0.1:"
            + s.httpPort()
            + "\r\n"
            + "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
            + "Connection: keep-alive\r\n"
            + "Content-Length: "
            + body.getBytes(StandardCharsets.UTF_8).length
            + "\r\n\r\n"
            + body;
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      String response = raw.send(request).readUntil("}");
      assertThat(response).startsWith("HTTP/1.1 200 OK\r\n");
      assertThat(response.toLowerCase(java.util.Locale.ROOT))
          .contains("content-type: application/vnd.schemaregistry.v1+json\r\n");
      assertThat(response).endsWith("\r\n\r\n{\"id\":1}");
      // The deserializer's look-up on the same connection: GET /schemas/ids/1.
      String get =
          "GET /schemas/ids/1 HTTP/1.1\r\n"
              + "Content-Type: application/vnd.schemaregistry.v1+json\r\n"
              + "User-Agent: Java/17.0.13\r\n"
              + "Host: 127.0.0.1:"
              + s.httpPort()
              + "\r\n"
              + "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
              + "Connection: keep-alive\r\n\r\n";
      String got = raw.send(get).readUntil("string\\\"\"}");
      assertThat(got).startsWith("HTTP/1.1 200 OK\r\n").endsWith("{\"schema\":\"\\\"string\\\"\"}");
    }
  }

  @Test
  void shouldRegisterLookUpAndFetchAsTheSerializersDo() {
    HttpResponse<String> r = call("POST", "/subjects/users-value/versions", schemaBody(USER));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).contains(MEDIA);
    int id = json(r).path("id").asInt();
    assertThat(id).isPositive();
    // Registering again (auto.register.schemas on every new producer) gives the same id.
    assertThat(
            json(call("POST", "/subjects/users-value/versions", schemaBody(USER)))
                .path("id")
                .asInt())
        .isEqualTo(id);
    // The same schema under another subject shares the id.
    assertThat(
            json(call("POST", "/subjects/other-value/versions", schemaBody(USER)))
                .path("id")
                .asInt())
        .isEqualTo(id);

    assertThat(json(call("GET", "/subjects", null)).toString())
        .isEqualTo("[\"other-value\",\"users-value\"]");
    assertThat(json(call("GET", "/subjects/users-value/versions", null)).toString())
        .isEqualTo("[1]");
    JsonNode latest = json(call("GET", "/subjects/users-value/versions/latest", null));
    assertThat(latest.path("subject").asText()).isEqualTo("users-value");
    assertThat(latest.path("version").asInt()).isEqualTo(1);
    assertThat(latest.path("id").asInt()).isEqualTo(id);
    assertThat(latest.has("schemaType")).isFalse(); // Confluent leaves AVRO out
    assertThat(latest.path("schema").asText()).isEqualTo(USER);
    assertThat(call("GET", "/subjects/users-value/versions/1/schema", null).body()).isEqualTo(USER);

    // use.latest.version=false, auto.register.schemas=false: the serializer looks its schema up.
    JsonNode found = json(call("POST", "/subjects/users-value?deleted=false", schemaBody(USER)));
    assertThat(found.path("version").asInt()).isEqualTo(1);
    assertThat(found.path("id").asInt()).isEqualTo(id);

    // The deserializer: the schema by the id in the message.
    JsonNode byId = json(call("GET", "/schemas/ids/" + id + "?fetchMaxId=false", null));
    assertThat(byId.path("schema").asText()).isEqualTo(USER);
    assertThat(json(call("GET", "/schemas/ids/" + id + "/versions", null)).toString())
        .isEqualTo(
            "[{\"subject\":\"other-value\",\"version\":1},{\"subject\":\"users-value\",\"version\":1}]");
    assertThat(json(call("GET", "/schemas/types", null)).toString())
        .isEqualTo("[\"AVRO\",\"PROTOBUF\"]");
  }

  @Test
  void shouldCheckCompatibilityAndRefuseABreakingSchema() {
    call("POST", "/subjects/u/versions", schemaBody(USER));
    JsonNode ok =
        json(call("POST", "/compatibility/subjects/u/versions/latest", schemaBody(USER_V2)));
    assertThat(ok.toString()).isEqualTo("{\"is_compatible\":true}");
    JsonNode no =
        json(
            call(
                "POST",
                "/compatibility/subjects/u/versions/latest?verbose=true",
                schemaBody(USER_BAD)));
    assertThat(no.path("is_compatible").asBoolean()).isFalse();
    assertThat(no.path("messages").toString()).contains("email");
    assertThat(
            json(call("POST", "/compatibility/subjects/u/versions", schemaBody(USER_BAD)))
                .path("is_compatible")
                .asBoolean())
        .isFalse();
    // Nothing registered yet under a subject: compatible with nothing.
    assertThat(
            json(call("POST", "/compatibility/subjects/new/versions/latest", schemaBody(USER)))
                .path("is_compatible")
                .asBoolean())
        .isTrue();

    assertError(call("POST", "/subjects/u/versions", schemaBody(USER_BAD)), 409, 409);
    assertThat(call("POST", "/subjects/u/versions", schemaBody(USER_V2)).statusCode())
        .isEqualTo(200);
    assertThat(json(call("GET", "/subjects/u/versions", null)).toString()).isEqualTo("[1,2]");
  }

  @Test
  void shouldReadAndChangeCompatibilityLevels() {
    assertThat(call("GET", "/config", null).body())
        .isEqualTo("{\"compatibilityLevel\":\"BACKWARD\"}");
    assertThat(call("PUT", "/config", "{\"compatibility\":\"FULL\"}").body())
        .isEqualTo("{\"compatibility\":\"FULL\"}");
    assertThat(json(call("GET", "/config", null)).path("compatibilityLevel").asText())
        .isEqualTo("FULL");
    assertError(call("GET", "/config/u", null), 404, 40408);
    assertThat(json(call("GET", "/config/u?defaultToGlobal=true", null)).toString())
        .isEqualTo("{\"compatibilityLevel\":\"FULL\"}");
    assertThat(call("PUT", "/config/u", "{\"compatibility\":\"none\"}").body())
        .isEqualTo("{\"compatibility\":\"NONE\"}");
    assertThat(json(call("GET", "/config/u", null)).path("compatibilityLevel").asText())
        .isEqualTo("NONE");
    assertError(call("PUT", "/config/u", "{\"compatibility\":\"SIDEWAYS\"}"), 422, 42203);
    assertThat(json(call("DELETE", "/config/u", null)).path("compatibilityLevel").asText())
        .isEqualTo("NONE");
    assertError(call("GET", "/config/u", null), 404, 40408);
  }

  @Test
  void shouldAnswerBadRequestsWithConfluentsErrorCodes() {
    assertError(call("GET", "/subjects/nope/versions", null), 404, 40401);
    assertError(call("GET", "/subjects/nope/versions/latest", null), 404, 40401);
    call("POST", "/subjects/u/versions", schemaBody(USER));
    assertError(call("GET", "/subjects/u/versions/9", null), 404, 40402);
    assertError(call("GET", "/subjects/u/versions/zero", null), 422, 42202);
    assertError(call("GET", "/schemas/ids/999", null), 404, 40403);
    assertError(call("POST", "/subjects/u", schemaBody(USER_V2)), 404, 40403);
    assertError(call("POST", "/subjects/u/versions", schemaBody("{\"type\":")), 422, 42201);
    assertError(
        call("POST", "/subjects/u/versions", "{\"schema\":\"x\",\"schemaType\":\"XML\"}"),
        422,
        42201);
    assertError(
        call(
            "POST",
            "/subjects/u/versions",
            "{\"schema\":\"\\\"string\\\"\",\"references\":[{\"name\":\"a\",\"subject\":\"b\","
                + "\"version\":1}]}"),
        422,
        42201);
    assertError(call("POST", "/subjects/u/versions", "not json"), 422, 422);
  }

  @Test
  void shouldSoftDeleteThenPermanentlyDelete() {
    call("POST", "/subjects/u/versions", schemaBody(USER));
    call("POST", "/subjects/u/versions", schemaBody(USER_V2));
    assertError(call("DELETE", "/subjects/u/versions/1?permanent=true", null), 404, 40407);
    assertThat(call("DELETE", "/subjects/u/versions/1", null).body()).isEqualTo("1");
    assertThat(json(call("GET", "/subjects/u/versions", null)).toString()).isEqualTo("[2]");
    assertThat(json(call("GET", "/subjects/u/versions?deleted=true", null)).toString())
        .isEqualTo("[1,2]");
    assertError(call("DELETE", "/subjects/u?permanent=true", null), 404, 40405);
    assertThat(call("DELETE", "/subjects/u", null).body()).isEqualTo("[2]");
    assertThat(call("GET", "/subjects", null).body()).isEqualTo("[]");
    assertThat(call("GET", "/subjects?deleted=true", null).body()).isEqualTo("[\"u\"]");
    assertThat(call("DELETE", "/subjects/u?permanent=true", null).body()).isEqualTo("[1,2]");
    assertError(call("GET", "/subjects/u/versions?deleted=true", null), 404, 40401);
  }

  @Test
  void shouldRefuseAPublishTheStreamsSchemaDoesNotAcceptAndCountIt() {
    int id =
        json(call("POST", "/subjects/users-value/versions", schemaBody(USER))).path("id").asInt();
    HttpResponse<String> created =
        s.post(
            "/v1/streams",
            "{\"name\":\"USERS\",\"subjects\":[\"users.>\"],"
                + "\"schema\":{\"subject\":\"users-value\",\"format\":\"confluent\"}}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(json(s.get("/v1/streams/USERS")).toString()).contains("users-value");

    byte[] good =
        java.nio.ByteBuffer.allocate(9)
            .put((byte) 0)
            .putInt(id)
            .put((byte) 6)
            .put("ann".getBytes(StandardCharsets.UTF_8))
            .array();
    HttpResponse<String> ok =
        s.send(
            s.request("/v1/subjects/users.1")
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(good))
                .build());
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    io.switchboard.http.testing.Problems.assertProblem(
        s.post("/v1/subjects/users.2", "{\"name\":\"ann\"}", "Content-Type", "application/json"),
        400,
        io.switchboard.core.ErrorCode.SCHEMA_REQUIRED);
    assertThat(s.get("/metrics").body()).contains("switchboard_schema_rejected_total 1.0");
  }

  @Test
  void shouldRegisterAndServeProtobufWithItsSchemaType() {
    String proto = "syntax = \"proto3\";\npackage shop;\nmessage Quote { string symbol = 1; }\n";
    String body =
        JSON.createObjectNode().put("schemaType", "PROTOBUF").put("schema", proto).toString();
    int id = json(call("POST", "/subjects/quotes-value/versions", body)).path("id").asInt();
    JsonNode v = json(call("GET", "/subjects/quotes-value/versions/latest", null));
    assertThat(v.path("schemaType").asText()).isEqualTo("PROTOBUF");
    assertThat(v.path("schema").asText()).contains("message Quote {");
    JsonNode byId = json(call("GET", "/schemas/ids/" + id, null));
    assertThat(byId.path("schemaType").asText()).isEqualTo("PROTOBUF");
    JsonNode found = json(call("POST", "/subjects/quotes-value", body));
    assertThat(found.path("id").asInt()).isEqualTo(id);
    String breaking =
        JSON.createObjectNode()
            .put("schemaType", "PROTOBUF")
            .put("schema", proto.replace("string symbol", "int64 symbol"))
            .toString();
    assertError(call("POST", "/subjects/quotes-value/versions", breaking), 409, 409);
    assertError(
        call(
            "POST",
            "/subjects/quotes-value/versions",
            "{\"schemaType\":\"PROTOBUF\",\"schema\":\"message {\"}"),
        422,
        42201);
  }
}
