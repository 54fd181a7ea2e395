package io.switchboard.http;

import static io.switchboard.testkit.PrometheusSamples.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.SseClient;
import io.switchboard.http.testing.WsClient;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics}: the documented names are there, and their values follow the traffic. */
@ExtendWith(LeakCheck.class)
class MetricsEndToEndTest {
  static final Duration WAIT = Duration.ofSeconds(20);

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

  String scrape() {
    HttpResponse<String> r = s.get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
    return r.body();
  }

  @Test
  void shouldServeTheDocumentedNames() {
    String m = scrape();
    for (String name :
        new String[] {
          "switchboard_http_connections",
          "switchboard_http_sse_streams",
          "switchboard_http_websockets",
          "switchboard_http_failed_requests_total",
          "switchboard_published_messages_total",
          "switchboard_published_bytes_total",
          "switchboard_delivered_messages_total",
          "switchboard_delivered_bytes_total",
          "switchboard_live_published_total",
          "switchboard_live_subscriptions",
          "switchboard_live_pending_requests",
          "jvm_memory_used_bytes",
          "jvm_gc_memory_allocated_bytes_total",
          "jvm_threads_live_threads",
          "system_cpu_count",
          "process_cpu_usage",
        }) {
      assertThat(value(m, name)).as(name).isNotNaN();
    }
    // The scrape itself shows from the second scrape on, by route template and status.
    assertThat(value(scrape(), "switchboard_http_requests_seconds_count", "route=\"/metrics\""))
        .isGreaterThanOrEqualTo(1);
  }

  @Test
  void shouldTimeTheFsyncsOfDurablePublishes() throws Exception {
    s.post("/v1/streams", "{\"name\":\"SAFE\",\"subjects\":[\"safe.>\"],\"fsync\":\"always\"}");
    double before = value(scrape(), "switchboard_log_fsync_seconds_count");
    for (int i = 0; i < 3; i++) {
      assertThat(s.post("/v1/subjects/safe.x", "payload").statusCode()).isEqualTo(200);
    }
    String after = scrape();
    // Each acknowledged publish to an fsync-always stream waited for at least one fsync.
    assertThat(value(after, "switchboard_log_fsync_seconds_count"))
        .isGreaterThanOrEqualTo(before + 1);
    assertThat(value(after, "switchboard_log_fsync_seconds_sum")).isPositive();
    assertThat(value(after, "switchboard_log_fsync_max_seconds")).isNotNaN();
  }

  @Test
  void shouldFollowTheTraffic() throws Exception {
    s.post("/v1/streams", "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}");
    s.post("/v1/streams/ORDERS/consumers", "{\"name\":\"w\"}");
    String before = scrape();
    assertThat(value(before, "switchboard_stream_messages", "stream=\"ORDERS\"")).isZero();
    double published = value(before, "switchboard_published_messages_total");

    for (int i = 0; i < 3; i++) {
      assertThat(s.post("/v1/subjects/orders.eu", "0123456789").statusCode()).isEqualTo(200);
    }
    s.post("/v1/streams/ORDERS/consumers/w/fetch?max=2&waitMs=5000", "");
    s.get("/v1/streams/NONE");
    try (SseClient sse =
            SseClient.open(
                s.http, s.request("/v1/subjects/x/events").timeout(Duration.ofMinutes(1)).build());
        WsClient ws = WsClient.connect(s, "/v1/ws")) {
      ws.call("1", "{\"op\":\"subscribe\",\"id\":\"1\",\"pattern\":\"x\"}");
      s.post("/v1/subjects/x", "abc");
      await().atMost(WAIT).until(() -> ws.messages("1").size() == 1 && sse.events.size() == 1);
      String during = scrape();
      assertThat(value(during, "switchboard_http_sse_streams")).isEqualTo(1);
      assertThat(value(during, "switchboard_http_websockets")).isEqualTo(1);
      assertThat(value(during, "switchboard_http_connections")).isGreaterThanOrEqualTo(2);
      assertThat(value(during, "switchboard_live_subscriptions")).isEqualTo(2);
      assertThat(value(during, "switchboard_delivered_messages_total", "transport=\"websocket\""))
          .isEqualTo(1);
      assertThat(value(during, "switchboard_delivered_messages_total", "transport=\"sse\""))
          .isEqualTo(1);
    }
    String after = scrape();
    assertThat(value(after, "switchboard_published_messages_total")).isEqualTo(published + 4);
    assertThat(value(after, "switchboard_published_bytes_total")).isGreaterThanOrEqualTo(33);
    assertThat(value(after, "switchboard_stream_messages", "stream=\"ORDERS\"")).isEqualTo(3);
    assertThat(value(after, "switchboard_stream_bytes", "stream=\"ORDERS\"")).isPositive();
    assertThat(
            value(
                after,
                "switchboard_consumer_unacknowledged",
                "stream=\"ORDERS\"",
                "consumer=\"w\""))
        .isEqualTo(2);
    // 3 published, 2 fetched: 1 not yet delivered.
    assertThat(value(after, "switchboard_consumer_pending", "stream=\"ORDERS\"", "consumer=\"w\""))
        .isEqualTo(1);
    assertThat(value(after, "switchboard_delivered_messages_total", "transport=\"fetch\""))
        .isEqualTo(2);
    assertThat(value(after, "switchboard_delivered_bytes_total", "transport=\"fetch\""))
        .isEqualTo(20);
    assertThat(value(after, "switchboard_live_published_total")).isGreaterThanOrEqualTo(4);
    assertThat(
            value(
                after,
                "switchboard_http_requests_seconds_count",
                "route=\"/v1/subjects/{subject}\"",
                "method=\"POST\"",
                "status=\"200\""))
        .isEqualTo(4);
    assertThat(
            value(
                after,
                "switchboard_http_requests_seconds_count",
                "route=\"/v1/streams/{stream}\"",
                "status=\"404\""))
        .isEqualTo(1);
    assertThat(value(after, "switchboard_http_requests_seconds_count", "route=\"/v1/ws\""))
        .isEqualTo(1);
    assertThat(value(after, "switchboard_http_failed_requests_total")).isGreaterThanOrEqualTo(1);
  }
}
