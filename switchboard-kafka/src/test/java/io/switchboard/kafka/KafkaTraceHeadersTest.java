package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * W3C trace context across Kafka: a record's {@code traceparent} / {@code tracestate} headers are
 * the message's headers, byte for byte, and a message's are a record's.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaTraceHeadersTest {
  static final String PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static final String STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;
  SwitchboardClient nativeClient;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    nativeClient =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", server.addresses().get("native").getPort()));
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin a = Admin.create(p)) {
      a.createTopics(List.of(new NewTopic("traced", 1, (short) 1))).all().get();
    }
  }

  @AfterEach
  void stop() {
    nativeClient.close();
    server.close();
  }

  @Test
  void aRecordsTraceHeadersReachANativeSubscriber() throws Exception {
    List<LiveMessage> seen = new CopyOnWriteArrayList<>();
    nativeClient.subscribe("traced", seen::add);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      ProducerRecord<String, String> r = new ProducerRecord<>("traced", "k", "v");
      r.headers().add("traceparent", PARENT.getBytes(StandardCharsets.UTF_8));
      r.headers().add("tracestate", STATE.getBytes(StandardCharsets.UTF_8));
      producer.send(r).get(30, TimeUnit.SECONDS);
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> !seen.isEmpty());
    assertThat(text(seen.get(0).headers(), "traceparent")).isEqualTo(PARENT);
    assertThat(text(seen.get(0).headers(), "tracestate")).isEqualTo(STATE);
  }

  @Test
  void aNativeMessagesTraceHeadersAreRecordHeaders() {
    nativeClient.publish(
        PublishBuilder.to("traced", "v").header("traceparent", PARENT).header("tracestate", STATE));
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "tracing");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<ConsumerRecord<String, String>> got = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of("traced"));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
              });
    }
    ConsumerRecord<String, String> r = got.get(0);
    assertThat(new String(r.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8))
        .isEqualTo(PARENT);
    assertThat(new String(r.headers().lastHeader("tracestate").value(), StandardCharsets.UTF_8))
        .isEqualTo(STATE);
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
  void withTracingOnEachProducedRecordGetsAPublishSpanAndIsStoredWithItsContext() throws Exception {
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
      String kafka = "127.0.0.1:" + traced.addresses().get("kafka").getPort();
      Properties a = new Properties();
      a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
      try (Admin admin = Admin.create(a)) {
        admin.createTopics(List.of(new NewTopic("spans", 1, (short) 1))).all().get();
      }
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
      p.put(ProducerConfig.LINGER_MS_CONFIG, "50");
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
        ProducerRecord<String, String> first = new ProducerRecord<>("spans", "k", "first");
        first.headers().add("traceparent", PARENT.getBytes(StandardCharsets.UTF_8));
        var one = producer.send(first);
        var two = producer.send(new ProducerRecord<>("spans", "k", "second-one"));
        one.get(30, TimeUnit.SECONDS);
        two.get(30, TimeUnit.SECONDS);
      }
      // A child of the record's traceparent; a record without one starts a trace.
      SpanData publishFirst = span(spans, "publish", "first".length());
      assertThat(publishFirst.getKind()).isEqualTo(SpanKind.SERVER);
      assertThat(publishFirst.getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(publishFirst.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
      SpanData publishSecond = span(spans, "publish", "second-one".length());
      assertThat(publishSecond.getParentSpanContext().isValid()).isFalse();
      // store: each record's own offset from the batch's acknowledgement
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  spans.getFinishedSpanItems().stream()
                          .filter(s -> s.getName().equals("store"))
                          .count()
                      == 2);
      for (SpanData publish : List.of(publishFirst, publishSecond)) {
        SpanData store =
            spans.getFinishedSpanItems().stream()
                .filter(s -> s.getName().equals("store"))
                .filter(s -> s.getParentSpanId().equals(publish.getSpanId()))
                .findFirst()
                .orElseThrow();
        assertThat(store.getAttributes().get(AttributeKey.longKey("switchboard.offset")))
            .isEqualTo(publish == publishFirst ? 0L : 1L);
      }

      // Fetch serves the stored batch: the records carry their publish span's context.
      Properties c = new Properties();
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
      c.put(ConsumerConfig.GROUP_ID_CONFIG, "spans");
      c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
      c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
      c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
        consumer.subscribe(List.of("spans"));
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> {
                  consumer.poll(Duration.ofMillis(200)).forEach(got::add);
                  return got.size() >= 2;
                });
      }
      assertThat(
              new String(
                  got.get(0).headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8))
          .startsWith(context(publishFirst));
      assertThat(
              new String(
                  got.get(1).headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8))
          .startsWith(context(publishSecond));
    }
  }

  /** The {@code traceparent} of {@code s} up to its flags (a new trace may set more than 01). */
  private static String context(SpanData s) {
    return "00-" + s.getTraceId() + "-" + s.getSpanId() + "-";
  }

  /** The span named {@code name} of the Kafka record whose value has {@code size} bytes. */
  private static SpanData span(InMemorySpanExporter spans, String name, long size) {
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
                            "kafka"
                                .equals(
                                    s.getAttributes()
                                        .get(AttributeKey.stringKey("switchboard.protocol"))))
                    .findFirst()
                    .orElse(null),
            java.util.Objects::nonNull);
  }
}
