package io.switchboard.http;

import static io.switchboard.http.testing.HttpServerFixture.json;
import static io.switchboard.http.testing.HttpServerFixture.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.Header;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpRequest;
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

/** HTTP and the native protocol on the same subjects, streams and requests. */
@ExtendWith(LeakCheck.class)
class CrossProtocolEndToEndTest {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  HttpServerFixture s;
  SwitchboardClient client;

  @BeforeEach
  void start() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
    client = s.nativeClient();
  }

  @AfterEach
  void stop() {
    client.close();
    s.close();
  }

  static String header(LiveMessage m, String name) {
    for (Header h : m.headers()) {
      if (h.key().equals(name)) {
        return new String(h.value(), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  @Test
  void shouldDeliverAnHttpPublishToANativeSubscriber() {
    ConcurrentLinkedQueue<LiveMessage> got = new ConcurrentLinkedQueue<>();
    client.subscribe("orders.*", got::add);
    HttpResponse<String> r =
        s.send(
            s.request("/v1/subjects/orders.created?key=c-7")
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":7}"))
                .header("Content-Type", "application/json")
                .header("Sb-Header-Trace-Id", "t-1")
                .build());
    assertThat(r.statusCode()).isEqualTo(200);
    await().atMost(WAIT).until(() -> got.size() == 1);
    LiveMessage m = got.peek();
    assertThat(m.subject()).isEqualTo("orders.created");
    assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo("{\"id\":7}");
    assertThat(new String(m.key(), StandardCharsets.UTF_8)).isEqualTo("c-7");
    assertThat(header(m, "content-type")).isEqualTo("application/json");
    assertThat(header(m, "trace-id")).isEqualTo("t-1");
  }

  @Test
  void shouldFetchOverHttpWhatTheNativeClientPublished() {
    s.post("/v1/streams", "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"]}");
    s.post("/v1/streams/JOBS/consumers", "{\"name\":\"w\"}");
    client.publish(PublishBuilder.to("jobs.native", "work").header("origin", "native"));
    JsonNode got = json(s.post("/v1/streams/JOBS/consumers/w/fetch?waitMs=5000", ""));
    JsonNode m = got.path("messages").get(0);
    assertThat(m.path("subject").asText()).isEqualTo("jobs.native");
    assertThat(m.path("text").asText()).isEqualTo("work");
    assertThat(m.path("headers").path("origin").asText()).isEqualTo("native");
  }

  @Test
  void shouldAnswerAnHttpRequestFromANativeResponder() {
    client.subscribe(
        "svc.echo",
        m -> client.reply(m, utf8("echo: " + new String(m.payload(), StandardCharsets.UTF_8))));
    HttpResponse<String> r = s.post("/v1/requests/svc.echo?timeoutMs=5000", "ping");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("echo: ping");
    assertThat(r.headers().firstValue("content-type")).contains("application/octet-stream");
    assertThat(r.headers().firstValue("sb-header-sb-correlation-id")).isPresent();
  }
}
