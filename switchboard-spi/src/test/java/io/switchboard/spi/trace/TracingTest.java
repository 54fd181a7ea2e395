package io.switchboard.spi.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.switchboard.broker.stream.Durability;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TracingTest {
  static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String PARENT = "00-" + TRACE + "-00f067aa0ba902b7-01";
  static final String STATE = "congo=t61rcWkgMzE";

  final InMemorySpanExporter spans = InMemorySpanExporter.create();
  final OpenTelemetrySdk otel =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(spans))
                  .build())
          .build();
  final Tracing tracing = Tracing.of(otel);

  @AfterEach
  void close() {
    otel.close();
  }

  static Message traced(String subject) {
    return new Message(
        subject,
        null,
        List.of(
            new Header("a", bytes("1")),
            new Header("traceparent", bytes(PARENT)),
            new Header("tracestate", bytes(STATE))),
        bytes("x"),
        1,
        null);
  }

  @Test
  void offStartsNothingAndHandsBackTheSameMessage() {
    Message m = traced("s");
    assertThat(Tracing.OFF.enabled()).isFalse();
    assertThat(Tracing.OFF.publish("native", m)).isNull();
    assertThat(Tracing.OFF.request("native", m)).isNull();
    assertThat(Tracing.OFF.deliver("native", m, "c")).isSameAs(m);
  }

  @Test
  void aPublishContinuesTheMessagesTraceAndHandsOnItsOwnContext() {
    Tracing.Op op = tracing.publish("http", traced("orders.1"));
    CompletableFuture<PublishAck> ack = new CompletableFuture<>();
    op.stored(ack);
    assertThat(spans.getFinishedSpanItems()).isEmpty(); // open until the append is acknowledged
    ack.complete(new PublishAck("ORDERS", 2, 41, Durability.WRITTEN, false));

    SpanData publish = named("publish");
    SpanData store = named("store");
    assertThat(publish.getTraceId()).isEqualTo(TRACE);
    assertThat(publish.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(publish.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(publish.getAttributes().get(AttributeKey.stringKey("switchboard.protocol")))
        .isEqualTo("http");
    assertThat(store.getParentSpanId()).isEqualTo(publish.getSpanId());
    assertThat(store.getAttributes().get(AttributeKey.longKey("switchboard.offset")))
        .isEqualTo(41L);
    // The stored message carries the publish span's context, once, and its other headers.
    Message out = op.message();
    assertThat(text(out, "traceparent")).startsWith("00-" + TRACE + "-" + publish.getSpanId());
    assertThat(text(out, "tracestate")).isEqualTo(STATE);
    assertThat(out.headers().stream().filter(h -> h.key().equals("traceparent"))).hasSize(1);
    assertThat(text(out, "a")).isEqualTo("1");
  }

  @Test
  void aPublishWithoutContextStartsATraceAndAReplyIsNamedSo() {
    Message plain = Message.of("_INBOX.abc.1", bytes("r"), 1);
    Tracing.Op op = tracing.publish("native", plain);
    op.stored(CompletableFuture.completedFuture(null));
    SpanData reply = named("reply");
    assertThat(reply.getParentSpanId()).isEqualTo("0000000000000000");
    assertThat(text(op.message(), "traceparent")).contains(reply.getSpanId());
  }

  @Test
  void aRefusedPublishEndsBothSpansWithTheError() {
    Tracing.Op op = tracing.publish("native", traced("s"));
    op.stored(
        CompletableFuture.failedFuture(
            SwitchboardException.of(ErrorCode.INVALID_SUBJECT, "s", "bad")));
    assertThat(named("publish").getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(named("store").getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
  }

  @Test
  void aRequestEndsWithItsReply() {
    Tracing.Op op = tracing.request("native", traced("svc"));
    CompletableFuture<Message> reply = new CompletableFuture<>();
    op.replied(reply);
    assertThat(spans.getFinishedSpanItems()).isEmpty();
    reply.complete(Message.of("r", bytes("ok"), 1));
    assertThat(named("request").getParentSpanId()).isEqualTo("00f067aa0ba902b7");
  }

  @Test
  void aDeliveryIsTheChildOfTheStoredContextAndOnlyTracedMessagesGetOne() {
    Message m = traced("orders.1");
    Message out = tracing.deliver("native", m, "workers");
    SpanData deliver = named("deliver");
    assertThat(deliver.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(deliver.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(text(out, "traceparent")).contains(deliver.getSpanId());

    Message untraced = Message.of("orders.2", bytes("x"), 1);
    assertThat(tracing.deliver("native", untraced, "workers")).isSameAs(untraced);
    assertThat(spans.getFinishedSpanItems()).hasSize(1);
  }

  private SpanData named(String name) {
    return spans.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals(name))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError("no span " + name + ": " + spans.getFinishedSpanItems()));
  }

  private static String text(Message m, String name) {
    byte[] v = m.header(name);
    return v == null ? null : new String(v, StandardCharsets.UTF_8);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
