package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static io.switchboard.grpc.GrpcApiTest.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.switchboard.client.LiveMessages;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.Header;
import io.switchboard.grpc.GrpcApiTest.Collector;
import io.switchboard.grpc.v1.Message;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.RequestMessage;
import io.switchboard.grpc.v1.RequestsGrpc;
import io.switchboard.grpc.v1.ServeRequest;
import io.switchboard.grpc.v1.ServeResponse;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * W3C trace context in gRPC metadata: a publish or request continues the caller's trace (publish,
 * request, deliver and reply spans with {@code switchboard.protocol=grpc}), the context reaches
 * native and gRPC subscribers in the message headers, and with tracing off the metadata's values
 * arrive unchanged.
 */
class GrpcTraceTest {
  static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String CALLER = "00f067aa0ba902b7";
  static final String TRACEPARENT = "00-" + TRACE_ID + "-" + CALLER + "-01";

  @TempDir Path dir;
  InMemorySpanExporter spans = InMemorySpanExporter.create();
  OpenTelemetrySdk otel;
  SwitchboardServer server;
  ManagedChannel channel;
  SwitchboardClient client;

  void start(boolean tracing) throws Exception {
    Map<String, String> flags = Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString());
    if (tracing) {
      otel =
          OpenTelemetrySdk.builder()
              .setTracerProvider(
                  SdkTracerProvider.builder()
                      .addSpanProcessor(SimpleSpanProcessor.create(spans))
                      .build())
              .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
              .build();
      server = SwitchboardServer.startOnFreePorts(flags, otel);
    } else {
      server = SwitchboardServer.startOnFreePorts(flags);
    }
    channel = GrpcApiTest.connect(server);
    client = SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort());
  }

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
    if (otel != null) {
      otel.close();
    }
  }

  static Metadata trace(String traceparent, String tracestate) {
    Metadata md = new Metadata();
    md.put(GrpcTrace.TRACEPARENT, traceparent);
    if (tracestate != null) {
      md.put(GrpcTrace.TRACESTATE, tracestate);
    }
    return md;
  }

  static String header(List<Header> headers, String name) {
    return headers.stream()
        .filter(h -> h.key().equals(name))
        .map(h -> new String(h.value(), StandardCharsets.UTF_8))
        .findFirst()
        .orElse(null);
  }

  static String header(Message m, String name) {
    return m.getHeadersList().stream()
        .filter(h -> h.getName().equals(name))
        .map(h -> h.getValue().toStringUtf8())
        .findFirst()
        .orElse(null);
  }

  SpanData span(String name, String protocol) {
    await()
        .until(
            () ->
                spans.getFinishedSpanItems().stream()
                    .anyMatch(s -> s.getName().equals(name) && protocol.equals(protocol(s))));
    return spans.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals(name) && protocol.equals(protocol(s)))
        .findFirst()
        .orElseThrow();
  }

  static String protocol(SpanData s) {
    return s.getAttributes()
        .get(io.opentelemetry.api.common.AttributeKey.stringKey("switchboard.protocol"));
  }

  static String parentOf(String traceparent) {
    return traceparent.split("-")[2];
  }

  @Test
  void aGrpcPublishWithTraceparentMetadataContinuesTheCallersTraceToNativeAndGrpcSubscribers()
      throws Exception {
    start(true);
    LiveMessages natives = client.subscribe("orders.>", null, 16);
    Collector<SubscribeResponse> grpcSub = new Collector<>();
    SubscriberGrpc.newStub(channel)
        .subscribe(SubscribeRequest.newBuilder().setPattern("orders.>").build(), grpcSub);
    await().until(() -> server.broker().live().subscriptionCount() == 2);

    PublisherGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(trace(TRACEPARENT, "vendor=a")))
        .publish(PublishRequest.newBuilder().setMessage(msg("orders.1", "o1")).build());

    SpanData publish = span("publish", "grpc");
    assertThat(publish.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(publish.getParentSpanId()).isEqualTo(CALLER);
    assertThat(publish.getKind()).isEqualTo(SpanKind.SERVER);

    // The native subscriber: the message carries the publish span's context (native delivers it).
    LiveMessage n = natives.next(Duration.ofSeconds(10));
    assertThat(n).isNotNull();
    String nativeParent = header(n.headers(), "traceparent");
    assertThat(nativeParent).contains(TRACE_ID);
    assertThat(header(n.headers(), "tracestate")).isEqualTo("vendor=a");
    SpanData nativeDeliver = span("deliver", "native");
    assertThat(nativeDeliver.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(nativeDeliver.getParentSpanId()).isEqualTo(publish.getSpanId());
    assertThat(parentOf(nativeParent)).isEqualTo(nativeDeliver.getSpanId());

    // The gRPC subscriber: a gRPC deliver span, child of publish, whose context the message
    // carries.
    Message g = grpcSub.next().getMessage();
    SpanData grpcDeliver = span("deliver", "grpc");
    assertThat(grpcDeliver.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(grpcDeliver.getParentSpanId()).isEqualTo(publish.getSpanId());
    assertThat(grpcDeliver.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(parentOf(header(g, "traceparent"))).isEqualTo(grpcDeliver.getSpanId());
    assertThat(header(g, "tracestate")).isEqualTo("vendor=a");
  }

  @Test
  void aMessagesOwnTraceparentWinsOverTheMetadata() throws Exception {
    start(true);
    String own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    PublisherGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(trace(TRACEPARENT, null)))
        .publish(
            PublishRequest.newBuilder()
                .setMessage(
                    msg("orders.2", "o2").toBuilder()
                        .addHeaders(
                            io.switchboard.grpc.v1.Header.newBuilder()
                                .setName("traceparent")
                                .setValue(utf8(own))))
                .build());
    SpanData publish = span("publish", "grpc");
    assertThat(publish.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(publish.getParentSpanId()).isEqualTo("b7ad6b7169203331");
  }

  @Test
  void aGrpcRequestServedOverGrpcIsOneTrace() throws Exception {
    start(true);
    Collector<ServeResponse> requests = new Collector<>();
    StreamObserver<ServeRequest> serve = RequestsGrpc.newStub(channel).serve(requests);
    serve.onNext(
        ServeRequest.newBuilder()
            .setServe(ServeRequest.Serve.newBuilder().setPattern("svc.echo"))
            .build());
    await().until(() -> server.broker().live().subscriptionCount() == 1);
    var reply =
        RequestsGrpc.newFutureStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(trace(TRACEPARENT, null)))
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .request(RequestMessage.newBuilder().setMessage(msg("svc.echo", "ping")).build());
    ServeResponse r = requests.next();
    String delivered = header(r.getRequest(), "traceparent");
    assertThat(delivered).contains(TRACE_ID);
    // The reply carries no traceparent: it continues the request's (the deliver span's) context.
    serve.onNext(
        ServeRequest.newBuilder()
            .setReply(
                ServeRequest.Reply.newBuilder()
                    .setRequestId(r.getRequestId())
                    .setPayload(utf8("pong")))
            .build());
    assertThat(reply.get(10, TimeUnit.SECONDS).getPayload().toStringUtf8()).isEqualTo("pong");

    SpanData request = span("request", "grpc");
    assertThat(request.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(request.getParentSpanId()).isEqualTo(CALLER);
    SpanData deliver = span("deliver", "grpc");
    assertThat(deliver.getParentSpanId()).isEqualTo(request.getSpanId());
    assertThat(parentOf(delivered)).isEqualTo(deliver.getSpanId());
    SpanData replySpan = span("reply", "grpc");
    assertThat(replySpan.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(replySpan.getParentSpanId()).isEqualTo(deliver.getSpanId());
    serve.onCompleted();
  }

  @Test
  void withTracingOffTheMetadataReachesSubscribersUnchanged() throws Exception {
    start(false);
    LiveMessages natives = client.subscribe("orders.>", null, 16);
    await().until(() -> server.broker().live().subscriptionCount() == 1);
    PublisherGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(trace(TRACEPARENT, "vendor=a")))
        .publish(PublishRequest.newBuilder().setMessage(msg("orders.3", "o3")).build());
    LiveMessage n = natives.next(Duration.ofSeconds(10));
    assertThat(n).isNotNull();
    assertThat(header(n.headers(), "traceparent")).isEqualTo(TRACEPARENT);
    assertThat(header(n.headers(), "tracestate")).isEqualTo("vendor=a");
    assertThat(spans.getFinishedSpanItems()).isEmpty();
  }
}
