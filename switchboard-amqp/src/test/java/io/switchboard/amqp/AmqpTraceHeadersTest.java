package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * W3C trace context across AMQP 0-9-1: {@code traceparent} / {@code tracestate} in the headers
 * table are message headers, a message's are table entries, and the message's current value wins
 * over the one stored with the publisher's table (a tracing server hands on its own span's).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpTraceHeadersTest {
  static final String PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static final String STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  static final String SERVER_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";

  @TempDir Path dir;
  SwitchboardServer server;
  Connection connection;
  SwitchboardClient nativeClient;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    connection = f.newConnection("trace-test");
    nativeClient =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", server.addresses().get("native").getPort()));
  }

  @AfterEach
  void stop() throws Exception {
    nativeClient.close();
    if (connection.isOpen()) {
      connection.close();
    }
    server.close();
  }

  @Test
  void theHeadersTableCarriesTheTraceContextBothWays() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("shop", BuiltinExchangeType.TOPIC, true);
    ch.queueDeclare("shop-traced", true, false, false, null);
    ch.queueBind("shop-traced", "shop", "traced.*");
    BlockingQueue<LiveMessage> seen = new LinkedBlockingQueue<>();
    nativeClient.subscribe("shop.traced.>", seen::add);
    ch.confirmSelect();
    Map<String, Object> table = new LinkedHashMap<>();
    table.put("traceparent", PARENT);
    table.put("tracestate", STATE);
    ch.basicPublish(
        "shop",
        "traced.eu",
        new AMQP.BasicProperties.Builder().headers(table).build(),
        "{}".getBytes(StandardCharsets.UTF_8));
    ch.waitForConfirmsOrDie(10_000);
    LiveMessage m = seen.poll(10, TimeUnit.SECONDS);
    assertThat(m).isNotNull();
    assertThat(text(m.headers(), "traceparent")).isEqualTo(PARENT);
    assertThat(text(m.headers(), "tracestate")).isEqualTo(STATE);

    nativeClient.publish(
        PublishBuilder.to("shop.traced.us", "n")
            .header("traceparent", PARENT)
            .header("tracestate", STATE));
    GetResponse r =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> ch.basicGet("shop-traced", true),
                x -> x != null && new String(x.getBody(), StandardCharsets.UTF_8).equals("n"));
    assertThat(r.getProps().getHeaders().get("traceparent").toString()).isEqualTo(PARENT);
    assertThat(r.getProps().getHeaders().get("tracestate").toString()).isEqualTo(STATE);
  }

  @Test
  void theMessagesTraceContextReplacesTheOneInTheStoredTable() {
    Map<String, Object> table = new LinkedHashMap<>();
    table.put("traceparent", PARENT);
    table.put("x-other", "kept");
    ByteBuf buf = Unpooled.buffer();
    AmqpTypes.writeTable(buf, table);
    byte[] bytes = new byte[buf.readableBytes()];
    buf.readBytes(bytes);
    buf.release();
    Message m =
        new Message(
            "s",
            null,
            List.of(
                new Header(AmqpMessages.HEADERS_TABLE, bytes),
                new Header("traceparent", SERVER_PARENT.getBytes(StandardCharsets.UTF_8))),
            new byte[0],
            0,
            null);
    Map<String, Object> out = AmqpMessages.toHeader(m).headers();
    assertThat(out.get("traceparent").toString()).isEqualTo(SERVER_PARENT);
    assertThat(out.get("x-other").toString()).isEqualTo("kept");
  }

  private static String text(List<Header> headers, String name) {
    for (Header h : headers) {
      if (h.key().equals(name)) {
        return new String(h.value(), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  @Test
  void withTracingOnPublishGetAndDeliverRecordSpansEachTheChildOfTheOneBefore() throws Exception {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    try (OpenTelemetrySdk otel =
            OpenTelemetrySdk.builder()
                .setTracerProvider(
                    SdkTracerProvider.builder()
                        .addSpanProcessor(SimpleSpanProcessor.create(spans))
                        .build())
                .build();
        SwitchboardServer traced =
            SwitchboardServer.startOnFreePorts(
                Map.of(ConfigCatalogue.DATA_DIR.name(), dir.resolve("traced").toString()), otel)) {
      ConnectionFactory f = new ConnectionFactory();
      f.setHost("127.0.0.1");
      f.setPort(traced.addresses().get("amqp").getPort());
      f.setAutomaticRecoveryEnabled(false);
      try (Connection conn = f.newConnection("traced")) {
        Channel ch = conn.createChannel();
        ch.queueDeclare("traced-q", true, false, false, null);
        AMQP.BasicProperties props =
            new AMQP.BasicProperties.Builder()
                .headers(Map.<String, Object>of("traceparent", PARENT))
                .build();

        // basic.publish -> publish span; basic.get-ok -> deliver span
        ch.basicPublish("", "traced-q", props, "got".getBytes(StandardCharsets.UTF_8));
        GetResponse got =
            await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> ch.basicGet("traced-q", true), r -> r != null);
        SpanData publish = span(spans, "publish", "got");
        assertThat(publish.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
        assertThat(publish.getKind()).isEqualTo(SpanKind.SERVER);
        SpanData deliver = span(spans, "deliver", "got");
        assertThat(deliver.getParentSpanId()).isEqualTo(publish.getSpanId());
        assertThat(deliver.getTraceId()).isEqualTo(publish.getTraceId());
        assertThat(String.valueOf(got.getProps().getHeaders().get("traceparent")))
            .isEqualTo(context(deliver));

        // basic.deliver to a consumer
        BlockingQueue<AMQP.BasicProperties> delivered = new LinkedBlockingQueue<>();
        ch.basicConsume("traced-q", true, (tag, d) -> delivered.add(d.getProperties()), tag -> {});
        ch.basicPublish("", "traced-q", props, "pushed".getBytes(StandardCharsets.UTF_8));
        AMQP.BasicProperties p = delivered.poll(10, TimeUnit.SECONDS);
        assertThat(p).isNotNull();
        SpanData pushedPublish = span(spans, "publish", "pushed");
        SpanData pushed = span(spans, "deliver", "pushed");
        assertThat(pushed.getParentSpanId()).isEqualTo(pushedPublish.getSpanId());
        assertThat(String.valueOf(p.getHeaders().get("traceparent"))).isEqualTo(context(pushed));
      }
    }
  }

  private static String context(SpanData s) {
    return "00-" + s.getTraceId() + "-" + s.getSpanId() + "-01";
  }

  /** The one span named {@code name} of the message whose body size tells it apart. */
  private static SpanData span(InMemorySpanExporter spans, String name, String body) {
    long size = body.length();
    return await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                spans.getFinishedSpanItems().stream()
                    .filter(s -> s.getName().equals(name))
                    .filter(
                        s ->
                            Long.valueOf(size)
                                .equals(
                                    s.getAttributes()
                                        .get(AttributeKey.longKey("messaging.message.body.size"))))
                    .filter(
                        s ->
                            "amqp"
                                .equals(
                                    s.getAttributes()
                                        .get(AttributeKey.stringKey("switchboard.protocol"))))
                    .findFirst()
                    .orElse(null),
            java.util.Objects::nonNull);
  }
}
