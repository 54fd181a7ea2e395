package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static io.switchboard.http.testing.HttpServerFixture.utf8;
import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.broker.PublishOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.SseClient;
import io.switchboard.testkit.netty.LeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Server-Sent Events: live subscriptions and durable consumers, their limits and heartbeats. */
@ExtendWith(LeakCheck.class)
class EventStreamEndToEndTest {
  static final ObjectMapper JSON = new ObjectMapper();
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

  SseClient sse(String path) throws Exception {
    return SseClient.open(s.http, s.request(path).timeout(Duration.ofMinutes(5)).GET().build());
  }

  static JsonNode data(SseClient.Event e) throws Exception {
    return JSON.readTree(e.data());
  }

  @Test
  void shouldStreamLiveMessagesFromHttpAndNativePublishers() throws Exception {
    start(Map.of());
    try (SseClient events = sse("/v1/subjects/greet.%3E/events");
        SwitchboardClient client = s.nativeClient()) {
      assertThat(events.response.statusCode()).isEqualTo(200);
      assertThat(events.response.headers().firstValue("content-type"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
      s.post("/v1/subjects/greet.http", "from http", "Sb-Header-Lang", "en");
      client.publish("greet.native", utf8("from native"));
      s.post("/v1/subjects/other.subject", "not for this stream");
      await().atMost(WAIT).until(() -> events.ofType("message").size() == 2);
      SseClient.Event first = events.ofType("message").get(0);
      assertThat(first.id()).isEqualTo("1");
      assertThat(data(first).path("subject").asText()).isEqualTo("greet.http");
      assertThat(data(first).path("text").asText()).isEqualTo("from http");
      assertThat(data(first).path("headers").path("lang").asText()).isEqualTo("en");
      SseClient.Event second = events.ofType("message").get(1);
      assertThat(second.id()).isEqualTo("2");
      assertThat(data(second).path("text").asText()).isEqualTo("from native");
    }
    await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 0);
    assertThat(s.server.broker().live().subscriptionCount()).isZero();
  }

  static String text(int i) {
    return i % 50 == 0 ? "large-" + i + "-" + "x".repeat(10_000) : "m" + i;
  }

  @Test
  void everyStreamOfAFanOutGetsEveryMessageWithItsOwnIds() throws Exception {
    start(Map.of());
    // Messages are encoded once per event loop and shared by its streams: each stream still gets
    // each message's own data, in order, with ids counting from 1 on that stream.
    java.util.List<SseClient> streams = new java.util.ArrayList<>();
    try (SwitchboardClient client = s.nativeClient()) {
      for (int i = 0; i < 6; i++) {
        streams.add(sse("/v1/subjects/fan.*/events"));
      }
      // Every 50th message is larger than what the per-loop cache keeps in its slots.
      for (int i = 0; i < 300; i++) {
        client.publish("fan." + (i % 3), utf8(text(i)));
      }
      for (SseClient c : streams) {
        await().atMost(WAIT).until(() -> c.ofType("message").size() == 300);
        java.util.List<SseClient.Event> got = c.ofType("message");
        for (int i = 0; i < 300; i++) {
          assertThat(got.get(i).id()).isEqualTo(Integer.toString(i + 1));
          assertThat(data(got.get(i)).path("text").asText()).isEqualTo(text(i));
          assertThat(data(got.get(i)).path("subject").asText()).isEqualTo("fan." + (i % 3));
        }
      }
    } finally {
      for (SseClient c : streams) {
        c.close();
      }
    }
  }

  @Test
  void shouldShareAQueueGroupBetweenStreams() throws Exception {
    start(Map.of());
    try (SseClient a = sse("/v1/subjects/work.*/events?queue=workers");
        SseClient b = sse("/v1/subjects/work.*/events?queue=workers")) {
      for (int i = 0; i < 20; i++) {
        s.post("/v1/subjects/work.item", "job-" + i);
      }
      await()
          .atMost(WAIT)
          .until(() -> a.ofType("message").size() + b.ofType("message").size() == 20);
      Set<String> seen = new HashSet<>();
      for (SseClient c : new SseClient[] {a, b}) {
        for (SseClient.Event e : c.ofType("message")) {
          assertThat(seen.add(data(e).path("text").asText())).isTrue();
        }
      }
      assertThat(seen).hasSize(20);
    }
  }

  @Test
  void shouldSendHeartbeatsWhileIdle() throws Exception {
    start(Map.of("http.sse-heartbeat-ms", "100"));
    try (SseClient events = sse("/v1/subjects/quiet/events")) {
      await().atMost(WAIT).until(() -> events.comments.contains("heartbeat"));
      assertThat(events.comments).contains("subscribed");
    }
  }

  @Test
  void shouldRefuseStreamsPastTheLimitAndFreeTheSlotOnClose() throws Exception {
    start(Map.of("http.max-sse-connections", "1"));
    SseClient first = sse("/v1/subjects/a/events");
    HttpResponse<String> refused = s.get("/v1/subjects/b/events");
    assertProblem(refused, 503, ErrorCode.TOO_MANY_CONNECTIONS);
    first.close();
    await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 0);
    try (SseClient again = sse("/v1/subjects/b/events")) {
      assertThat(again.response.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void shouldCutOffASlowReaderWithAFinalEventAndKeepServing() throws Exception {
    start(Map.of("http.sse-max-pending-bytes", "16384"));
    try (Socket reader = new Socket("127.0.0.1", s.httpPort())) {
      OutputStream out = reader.getOutputStream();
      out.write(
          "GET /v1/subjects/firehose/events HTTP/1.1\r\nHost: x\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 1);
      // The reader reads nothing: its socket buffers fill, then the server's queue passes the
      // bound.
      byte[] payload = new byte[64 * 1024];
      for (int i = 0; i < 2000 && frontEnd().eventStreamCount() > 0; i++) {
        s.server.broker().publish(Message.of("firehose", payload, 0), PublishOptions.NONE).join();
      }
      await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 0);
      String tail = tail(reader.getInputStream(), 4096);
      assertThat(tail).contains("event: error").contains("SLOW_CONSUMER");
      assertThat(tail).as("the last chunk ends the body").endsWith("\r\n0\r\n\r\n");
    }
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void anHttp10ClientGetsTheEventsWithoutChunksUntilTheConnectionCloses() throws Exception {
    start(Map.of());
    try (Socket reader = new Socket("127.0.0.1", s.httpPort())) {
      reader.setSoTimeout(20_000);
      OutputStream out = reader.getOutputStream();
      out.write(
          "GET /v1/subjects/old.*/events HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 1);
      s.post("/v1/subjects/old.one", "first");
      InputStream in = reader.getInputStream();
      StringBuilder got = new StringBuilder();
      byte[] buf = new byte[4096];
      while (!got.toString().contains("\"text\":\"first\"")) {
        int n = in.read(buf);
        assertThat(n).as("stream ended early: %s", got).isPositive();
        got.append(new String(buf, 0, n, StandardCharsets.UTF_8));
      }
      String text = got.toString();
      String head = text.substring(0, text.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT);
      assertThat(head).startsWith("http/1.1 200").contains("connection: close");
      assertThat(head).doesNotContain("transfer-encoding");
      // The body is the events themselves, no chunk sizes between them.
      String body = text.substring(text.indexOf("\r\n\r\n") + 4);
      assertThat(body).startsWith("retry: 1000\n: subscribed\n\n");
      assertThat(body).contains("id: 1\nevent: message\ndata: {");
    }
    await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 0);
  }

  /** Everything until the end of the stream; returns its last {@code n} characters. */
  static String tail(InputStream in, int n) throws Exception {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    in.transferTo(all);
    String text = all.toString(StandardCharsets.UTF_8);
    return text.substring(Math.max(0, text.length() - n));
  }

  @Test
  void shouldPushAConsumerWithCreditsReturnedByRestAcks() throws Exception {
    start(Map.of());
    s.post("/v1/streams", "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"]}");
    s.post("/v1/streams/JOBS/consumers", "{\"name\":\"w\",\"mode\":\"shared\"}");
    for (int i = 0; i < 3; i++) {
      s.post("/v1/subjects/jobs.run", "job-" + i);
    }
    String acks = "/v1/streams/JOBS/consumers/w/acks";
    try (SseClient events = sse("/v1/streams/JOBS/consumers/w/events?credits=2&member=browser")) {
      assertThat(events.response.statusCode()).isEqualTo(200);
      await().atMost(WAIT).until(() -> events.ofType("message").size() == 2);
      SseClient.Event first = events.ofType("message").get(0);
      assertThat(first.id()).isEqualTo("0:0:1");
      assertThat(data(first).path("text").asText()).isEqualTo("job-0");
      // Two credits, both held: the third waits until one is acknowledged.
      assertThat(frontEnd().eventStreamCount()).isEqualTo(1);
      HttpResponse<String> acked = s.post(acks, "[{\"id\":\"0:0:1\"}]");
      assertThat(json(acked).path("results").get(0).asBoolean()).isTrue();
      await().atMost(WAIT).until(() -> events.ofType("message").size() == 3);
      assertThat(events.ofType("message").get(2).id()).isEqualTo("0:2:1");
    }
    // Closing gives the unacknowledged back at once: a fetch gets them without the ack timeout.
    await().atMost(WAIT).until(() -> frontEnd().eventStreamCount() == 0);
    JsonNode again = json(s.post("/v1/streams/JOBS/consumers/w/fetch?max=10&waitMs=10000", ""));
    assertThat(again.path("messages").findValuesAsText("id")).contains("0:1:2");
  }

  @Test
  void shouldRefuseStreamsOfUnknownConsumersAndBadPatterns() throws Exception {
    start(Map.of());
    assertProblem(s.get("/v1/streams/NONE/consumers/x/events"), 404, ErrorCode.STREAM_NOT_FOUND);
    s.post("/v1/streams", "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"]}");
    assertProblem(s.get("/v1/streams/JOBS/consumers/x/events"), 404, ErrorCode.CONSUMER_NOT_FOUND);
    assertProblem(s.get("/v1/subjects/a..b/events"), 400, ErrorCode.INVALID_PATTERN);
    assertThat(frontEnd().eventStreamCount()).isZero();
  }
}
