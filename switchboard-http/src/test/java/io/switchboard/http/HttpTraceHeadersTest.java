package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.Header;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * W3C trace context over HTTP: the standard {@code traceparent} / {@code tracestate} request
 * headers of a publish or request become message headers (unchanged while tracing is off), a
 * reply's come back as response headers, and fetched messages show them with their other headers.
 */
class HttpTraceHeadersTest {
  static final String PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static final String STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  static final String REPLY_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";

  @TempDir Path dir;
  HttpServerFixture f;
  SwitchboardClient nativeClient;
  String base;

  @BeforeEach
  void start() throws Exception {
    f = HttpServerFixture.start(dir, Map.of());
    nativeClient =
        SwitchboardClient.connect("127.0.0.1:" + f.server.addresses().get("native").getPort());
    base = "http://127.0.0.1:" + f.server.addresses().get("http").getPort();
  }

  @AfterEach
  void stop() {
    nativeClient.close();
    f.close();
  }

  @Test
  void aPublishsTraceHeadersBecomeMessageHeaders() throws Exception {
    List<LiveMessage> seen = new CopyOnWriteArrayList<>();
    nativeClient.subscribe("orders.>", seen::add);
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/subjects/orders.1"))
                .header("traceparent", PARENT)
                .header("tracestate", STATE)
                .POST(HttpRequest.BodyPublishers.ofString("o1")));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
    assertThat(text(seen.get(0).headers(), "traceparent")).isEqualTo(PARENT);
    assertThat(text(seen.get(0).headers(), "tracestate")).isEqualTo(STATE);
    assertThat(seen.get(0).headers().stream().filter(h -> h.key().equals("traceparent")))
        .hasSize(1);
  }

  @Test
  void aRequestCarriesTheContextAndItsReplyComesBackAsResponseHeaders() throws Exception {
    List<LiveMessage> requests = new CopyOnWriteArrayList<>();
    nativeClient.subscribe(
        "svc.echo",
        m -> {
          requests.add(m);
          nativeClient.publishAsync(
              PublishBuilder.to(m.replyTo(), "pong")
                  .header("sb-correlation-id", text(m.headers(), "sb-correlation-id"))
                  .header("traceparent", REPLY_PARENT));
        });
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/requests/svc.echo"))
                .header("traceparent", PARENT)
                .POST(HttpRequest.BodyPublishers.ofString("ping")));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(text(requests.get(0).headers(), "traceparent")).isEqualTo(PARENT);
    assertThat(r.headers().firstValue("traceparent")).contains(REPLY_PARENT);
    assertThat(r.headers().firstValue("Sb-Header-traceparent")).contains(REPLY_PARENT);
  }

  @Test
  void fetchedMessagesShowTheirTraceHeaders() throws Exception {
    nativeClient.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"T\",\"subjects\":[\"t.>\"]}");
    nativeClient.admin(Admin.Op.CONSUMER_CREATE, "{\"stream\":\"T\",\"config\":{\"name\":\"c\"}}");
    nativeClient.publish(
        PublishBuilder.to("t.1", "x").header("traceparent", PARENT).header("tracestate", STATE));
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(
                    URI.create(base + "/v1/streams/T/consumers/c/fetch?max=1&waitMs=5000"))
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body())
        .contains("\"traceparent\":\"" + PARENT + "\"")
        .contains("\"tracestate\":\"" + STATE + "\"");
  }

  @Test
  void withTracingOnAFetchAndAnSseDeliveryRecordDeliverSpansUnderThePublish() throws Exception {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    try (OpenTelemetrySdk otel =
            OpenTelemetrySdk.builder()
                .setTracerProvider(
                    SdkTracerProvider.builder()
                        .addSpanProcessor(SimpleSpanProcessor.create(spans))
                        .build())
                .build();
        SwitchboardServer server =
            SwitchboardServer.startOnFreePorts(
                Map.of(ConfigCatalogue.DATA_DIR.name(), dir.resolve("traced").toString()), otel);
        SwitchboardClient c =
            SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
      String http = "http://127.0.0.1:" + server.addresses().get("http").getPort();
      c.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"T\",\"subjects\":[\"t.>\"]}");
      c.admin(Admin.Op.CONSUMER_CREATE, "{\"stream\":\"T\",\"config\":{\"name\":\"c\"}}");
      c.publish(PublishBuilder.to("t.1", "x").header("traceparent", PARENT));

      // fetch: one deliver span, child of the native publish, its context in the JSON headers
      HttpResponse<String> r =
          send(
              HttpRequest.newBuilder(
                      URI.create(http + "/v1/streams/T/consumers/c/fetch?max=1&waitMs=5000"))
                  .POST(HttpRequest.BodyPublishers.noBody()));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      String fetched =
          JSON.readTree(r.body()).get("messages").get(0).get("headers").get("traceparent").asText();
      SpanData publish = span(spans, "publish", "native", "t.1");
      assertThat(publish.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
      SpanData deliver = span(spans, "deliver", "http", "t.1");
      assertThat(deliver.getKind()).isEqualTo(SpanKind.PRODUCER);
      assertThat(deliver.getTraceId()).isEqualTo(publish.getTraceId());
      assertThat(deliver.getParentSpanId()).isEqualTo(publish.getSpanId());
      assertThat(
              deliver.getAttributes().get(AttributeKey.stringKey("messaging.consumer.group.name")))
          .isEqualTo("c");
      assertThat(fetched)
          .isEqualTo("00-" + deliver.getTraceId() + "-" + deliver.getSpanId() + "-01");

      // SSE of a live subject: the event shows its own deliver span's context
      HttpResponse<Stream<String>> sse =
          f.http.send(
              HttpRequest.newBuilder(URI.create(http + "/v1/subjects/live.%3E/events")).build(),
              HttpResponse.BodyHandlers.ofLines());
      assertThat(sse.statusCode()).isEqualTo(200);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> {
                c.publish(PublishBuilder.to("live.1", "y").header("traceparent", PARENT));
                return spans.getFinishedSpanItems().stream()
                    .anyMatch(s -> s.getName().equals("deliver") && subject(s).equals("live.1"));
              });
      String event =
          sse.body().filter(l -> l.startsWith("data:")).findFirst().orElseThrow().substring(5);
      sse.body().close();
      String shown = JSON.readTree(event).get("headers").get("traceparent").asText();
      SpanData live =
          spans.getFinishedSpanItems().stream()
              .filter(s -> s.getName().equals("deliver") && subject(s).equals("live.1"))
              .filter(s -> shown.equals("00-" + s.getTraceId() + "-" + s.getSpanId() + "-01"))
              .findFirst()
              .orElseThrow();
      assertThat(live.getAttributes().get(AttributeKey.stringKey("switchboard.protocol")))
          .isEqualTo("http");
      SpanData livePublish =
          spans.getFinishedSpanItems().stream()
              .filter(s -> s.getSpanId().equals(live.getParentSpanId()))
              .findFirst()
              .orElseThrow();
      assertThat(livePublish.getName()).isEqualTo("publish");
      assertThat(subject(livePublish)).isEqualTo("live.1");
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private static String subject(SpanData s) {
    return String.valueOf(
        s.getAttributes().get(AttributeKey.stringKey("messaging.destination.name")));
  }

  private static SpanData span(
      InMemorySpanExporter spans, String name, String protocol, String subject) {
    return await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                spans.getFinishedSpanItems().stream()
                    .filter(s -> s.getName().equals(name) && subject(s).equals(subject))
                    .filter(
                        s ->
                            protocol.equals(
                                s.getAttributes()
                                    .get(AttributeKey.stringKey("switchboard.protocol"))))
                    .findFirst()
                    .orElse(null),
            java.util.Objects::nonNull);
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return f.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String text(List<Header> headers, String name) {
    for (Header h : headers) {
      if (h.key().equals(name)) {
        return new String(h.value(), StandardCharsets.UTF_8);
      }
    }
    return null;
  }
}
