package io.switchboard.server.trace;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.switchboard.server.config.OtelKeys;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.trace.Tracing;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The server's OpenTelemetry: nothing at all unless {@code otel.exporter.otlp.endpoint} is set
 * ({@link #OFF}: {@link Tracing#OFF}, no SDK class is even loaded); with it, an SDK tracer provider
 * whose batch processor exports over OTLP/HTTP from its own thread. Closing flushes and shuts the
 * SDK down.
 */
public final class ServerTelemetry implements AutoCloseable {
  /** Tracing off. */
  public static final ServerTelemetry OFF = new ServerTelemetry(Tracing.OFF, null);

  private final Tracing tracing;
  private final AutoCloseable sdk;

  private ServerTelemetry(Tracing tracing, AutoCloseable sdk) {
    this.tracing = tracing;
    this.sdk = sdk;
  }

  /** What {@code config} asks for: {@link #OFF} unless an endpoint is set. */
  public static ServerTelemetry open(ServerConfig config) {
    String endpoint = config.get(OtelKeys.ENDPOINT);
    if (endpoint.isEmpty()) {
      return OFF;
    }
    return Sdk.open(config, endpoint);
  }

  /** Spans through a caller's OpenTelemetry (tests, embedding); closing leaves it open. */
  public static ServerTelemetry using(OpenTelemetry otel) {
    return new ServerTelemetry(Tracing.of(otel), null);
  }

  public Tracing tracing() {
    return tracing;
  }

  @Override
  public void close() {
    if (sdk != null) {
      try {
        sdk.close();
      } catch (Exception e) {
        // the SDK logs its own export failures; nothing more to do at shutdown
      }
    }
  }

  /** Kept apart so that the SDK's classes load only when tracing is on. */
  private static final class Sdk {
    static ServerTelemetry open(ServerConfig config, String endpoint) {
      String url = endpoint.endsWith("/v1/traces") ? endpoint : strip(endpoint) + "/v1/traces";
      long timeoutMs = config.get(OtelKeys.EXPORT_TIMEOUT_MS);
      OtlpHttpSpanExporter exporter =
          OtlpHttpSpanExporter.builder()
              .setEndpoint(url)
              .setTimeout(Duration.ofMillis(timeoutMs))
              .build();
      SdkTracerProvider provider =
          SdkTracerProvider.builder()
              .setResource(
                  Resource.getDefault()
                      .merge(
                          Resource.create(
                              Attributes.of(
                                  AttributeKey.stringKey("service.name"),
                                  config.get(OtelKeys.SERVICE_NAME)))))
              .setSampler(
                  Sampler.parentBased(
                      Sampler.traceIdRatioBased(config.get(OtelKeys.SAMPLER_RATIO))))
              .addSpanProcessor(
                  BatchSpanProcessor.builder(exporter)
                      .setMaxQueueSize(config.get(OtelKeys.MAX_QUEUE))
                      .setExporterTimeout(Duration.ofMillis(timeoutMs))
                      .build())
              .build();
      OpenTelemetrySdk sdk =
          OpenTelemetrySdk.builder()
              .setTracerProvider(provider)
              .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
              .build();
      return new ServerTelemetry(
          Tracing.of(sdk),
          () -> {
            provider.forceFlush().join(timeoutMs, TimeUnit.MILLISECONDS);
            sdk.close();
          });
    }

    private static String strip(String endpoint) {
      return endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
    }
  }
}
