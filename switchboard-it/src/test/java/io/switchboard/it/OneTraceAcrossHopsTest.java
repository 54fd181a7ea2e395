package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One trace, from an HTTP publish through a stream to a Java consumer that replies over MQTT, and
 * on to an MQTT subscriber of the reply: every span the server and the client record shares the
 * caller's trace id, and each hop is the child of the one before (W3C trace context in the message
 * headers, the MQTT 5 user properties and the HTTP request headers).
 */
class OneTraceAcrossHopsTest {
  @TempDir Path dir;
  InMemorySpanExporter spans;
  OpenTelemetrySdk otel;
  SwitchboardServer server;
  SwitchboardClient client;
  MqttClient responder;
  MqttClient listener;

  @BeforeEach
  void start() throws Exception {
    spans = InMemorySpanExporter.create();
    otel =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(spans))
                    .build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build();
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()), otel);
    client =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())
            .withTracing(otel);
    String mqtt = "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort();
    responder = new MqttClient(mqtt, "responder", new MemoryPersistence());
    listener = new MqttClient(mqtt, "listener", new MemoryPersistence());
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setCleanStart(true);
    responder.connect(o);
    listener.connect(o);
  }

  @AfterEach
  void stop() throws Exception {
    for (MqttClient c : new MqttClient[] {responder, listener}) {
      if (c != null) {
        if (c.isConnected()) {
          c.disconnect();
        }
        c.close();
      }
    }
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    if (otel != null) {
      otel.close();
    }
  }

  @Test
  void anHttpPublishThroughAStreamToAJavaConsumerRepliedOverMqttIsOneTrace() throws Exception {
    client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}");
    client.admin(
        Admin.Op.CONSUMER_CREATE, "{\"stream\":\"ORDERS\",\"config\":{\"name\":\"workers\"}}");

    // The reply's listener: an MQTT 5 subscriber, keeping the user properties it receives.
    CompletableFuture<MqttProperties> replyProps = new CompletableFuture<>();
    IMqttToken subscribed =
        listener.subscribe(
            new MqttSubscription[] {new MqttSubscription("replies/#", 1)},
            new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {
              (topic, m) -> replyProps.complete(m.getProperties())
            });
    subscribed.waitForCompletion(10_000);

    // The Java consumer: replies over MQTT from inside its handler's process span.
    client.consume(
        "ORDERS",
        "workers",
        "w1",
        10,
        d -> {
          Map<String, String> carrier = new HashMap<>();
          W3CTraceContextPropagator.getInstance()
              .inject(Context.current(), carrier, (c, k, v) -> c.put(k, v));
          MqttMessage reply = new MqttMessage("shipped".getBytes(StandardCharsets.UTF_8));
          reply.setQos(1);
          MqttProperties props = new MqttProperties();
          props.setUserProperties(
              carrier.entrySet().stream()
                  .map(e -> new UserProperty(e.getKey(), e.getValue()))
                  .toList());
          reply.setProperties(props);
          try {
            responder.publish(d.replyTo().replace('.', '/'), reply);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          client.ackAsync("ORDERS", "workers", d);
        });

    // The caller: an HTTP client inside its own span, sending the W3C headers.
    Span caller =
        otel.getTracer("test").spanBuilder("checkout").setSpanKind(SpanKind.CLIENT).startSpan();
    Map<String, String> outgoing = new HashMap<>();
    W3CTraceContextPropagator.getInstance()
        .inject(Context.root().with(caller), outgoing, (c, k, v) -> c.put(k, v));
    HttpRequest.Builder post =
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:"
                        + server.addresses().get("http").getPort()
                        + "/v1/subjects/orders.1"))
            .header("Sb-Reply-To", "replies.1")
            .POST(HttpRequest.BodyPublishers.ofString("order 1"));
    outgoing.forEach(post::header);
    HttpResponse<String> published;
    try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
      published = http.send(post.build(), HttpResponse.BodyHandlers.ofString());
    }
    caller.end();
    assertThat(published.statusCode()).as(published.body()).isEqualTo(200);

    MqttProperties got = replyProps.get(30, TimeUnit.SECONDS);
    String traceId = caller.getSpanContext().getTraceId();

    // Every hop's span, in order: each the child of the one before.
    SpanData httpPublish = awaitSpan("publish", "http");
    SpanData httpStore = awaitChild("store", httpPublish);
    SpanData nativeDeliver = awaitSpan("deliver", "native");
    SpanData process = awaitSpanNamed("process");
    SpanData mqttPublish = awaitSpan("publish", "mqtt");
    SpanData mqttDeliver = awaitSpan("deliver", "mqtt");

    assertThat(List.of(httpPublish, httpStore, nativeDeliver, process, mqttPublish, mqttDeliver))
        .allSatisfy(s -> assertThat(s.getTraceId()).isEqualTo(traceId));
    assertThat(httpPublish.getParentSpanId()).isEqualTo(caller.getSpanContext().getSpanId());
    assertThat(httpPublish.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(httpStore.getAttributes().asMap().toString()).contains("ORDERS");
    assertThat(nativeDeliver.getParentSpanId()).isEqualTo(httpPublish.getSpanId());
    assertThat(process.getParentSpanId()).isEqualTo(nativeDeliver.getSpanId());
    assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(mqttPublish.getParentSpanId()).isEqualTo(process.getSpanId());
    assertThat(mqttDeliver.getParentSpanId()).isEqualTo(mqttPublish.getSpanId());
    // The MQTT subscriber receives the deliver span's context as a user property.
    assertThat(got.getUserProperties())
        .anySatisfy(
            p -> {
              assertThat(p.getKey()).isEqualTo("traceparent");
              assertThat(p.getValue())
                  .startsWith("00-" + traceId + "-" + mqttDeliver.getSpanId() + "-");
            });
  }

  @Test
  void aJavaRequestAndItsReplyAreOneTrace() throws Exception {
    try (SwitchboardClient responder =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())
            .withTracing(otel)) {
      responder.subscribe(
          "svc.echo", m -> responder.reply(m, "pong".getBytes(StandardCharsets.UTF_8)));
      Span caller = otel.getTracer("test").spanBuilder("caller").startSpan();
      io.opentelemetry.context.Scope scope = caller.makeCurrent();
      try {
        assertThat(
                client
                    .request(
                        "svc.echo", "ping".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10))
                    .get(20, TimeUnit.SECONDS)
                    .payload())
            .asString(StandardCharsets.UTF_8)
            .isEqualTo("pong");
      } finally {
        scope.close();
        caller.end();
      }
      SpanData clientRequest =
          awaitOne(s -> isClient(s) && s.getName().equals("request"), "client request");
      SpanData serverRequest =
          awaitOne(s -> !isClient(s) && s.getName().equals("request"), "server request");
      SpanData deliver = awaitSpan("deliver", "native");
      SpanData process = awaitSpanNamed("process");
      SpanData publish =
          awaitOne(s -> isClient(s) && s.getName().equals("publish"), "client publish");
      SpanData reply = awaitSpanNamed("reply");
      SpanData store = awaitChild("store", reply);
      assertThat(List.of(clientRequest, serverRequest, deliver, process, publish, reply, store))
          .allSatisfy(
              s -> assertThat(s.getTraceId()).isEqualTo(caller.getSpanContext().getTraceId()));
      assertThat(clientRequest.getParentSpanId()).isEqualTo(caller.getSpanContext().getSpanId());
      assertThat(clientRequest.getKind()).isEqualTo(SpanKind.CLIENT);
      assertThat(serverRequest.getParentSpanId()).isEqualTo(clientRequest.getSpanId());
      assertThat(deliver.getParentSpanId()).isEqualTo(serverRequest.getSpanId());
      assertThat(process.getParentSpanId()).isEqualTo(deliver.getSpanId());
      assertThat(publish.getParentSpanId()).isEqualTo(process.getSpanId());
      assertThat(publish.getKind()).isEqualTo(SpanKind.PRODUCER);
      assertThat(reply.getParentSpanId()).isEqualTo(publish.getSpanId());
    }
  }

  private static boolean isClient(SpanData s) {
    return s.getInstrumentationScopeInfo().getName().equals("io.switchboard.client");
  }

  private SpanData awaitSpanNamed(String name) {
    return awaitOne(s -> s.getName().equals(name), name);
  }

  private SpanData awaitSpan(String name, String protocol) {
    return awaitOne(
        s ->
            s.getName().equals(name)
                && protocol.equals(
                    s.getAttributes()
                        .get(
                            io.opentelemetry.api.common.AttributeKey.stringKey(
                                "switchboard.protocol"))),
        name + " over " + protocol);
  }

  private SpanData awaitChild(String name, SpanData parent) {
    return awaitOne(
        s -> s.getName().equals(name) && s.getParentSpanId().equals(parent.getSpanId()),
        name + " under " + parent.getName());
  }

  private SpanData awaitOne(java.util.function.Predicate<SpanData> p, String what) {
    await()
        .atMost(Duration.ofSeconds(20))
        .alias(what)
        .until(() -> spans.getFinishedSpanItems().stream().anyMatch(p));
    List<SpanData> all = spans.getFinishedSpanItems().stream().filter(p).toList();
    assertThat(all).as(what).hasSize(1);
    return all.get(0);
  }
}
