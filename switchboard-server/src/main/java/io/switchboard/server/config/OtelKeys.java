package io.switchboard.server.config;

import io.switchboard.spi.config.ConfigKey;
import java.util.List;

/**
 * The tracing keys ({@code otel.*}, see {@code docs/tracing.md}): spans are exported over OTLP
 * (HTTP/protobuf) only when {@link #ENDPOINT} is set; otherwise no SDK is created at all.
 */
public final class OtelKeys {
  private OtelKeys() {}

  public static final ConfigKey<String> ENDPOINT =
      new ConfigKey<>(
          "otel.exporter.otlp.endpoint",
          "",
          "OTLP/HTTP collector to export spans to (e.g. http://127.0.0.1:4318); empty turns"
              + " tracing off: no OpenTelemetry SDK, a no-op tracer, trace headers passed through"
              + " untouched.",
          ConfigKey.optional());

  public static final ConfigKey<String> SERVICE_NAME =
      new ConfigKey<>(
          "otel.service.name",
          "switchboard",
          "The service.name resource attribute of the server's spans.",
          ConfigKey.nonBlank());

  public static final ConfigKey<Double> SAMPLER_RATIO =
      new ConfigKey<>(
          "otel.traces.sampler.ratio",
          "1.0",
          "Share of new traces (a publish without a traceparent) the server samples, 0 to 1;"
              + " a message that carries a trace context follows its parent's decision.",
          OtelKeys::ratio);

  public static final ConfigKey<Long> EXPORT_TIMEOUT_MS =
      new ConfigKey<>(
          "otel.exporter.otlp.timeout-ms",
          "10000",
          "How long one OTLP export may take before it is abandoned (spans dropped, counted by"
              + " the SDK); exports never run on an event loop.",
          ConfigKey.longIn(100, 600_000));

  public static final ConfigKey<Integer> MAX_QUEUE =
      new ConfigKey<>(
          "otel.bsp.max-queue-size",
          "2048",
          "Ended spans waiting for export; past it new spans are dropped (never blocks a loop).",
          ConfigKey.intIn(16, 1 << 20));

  public static final List<ConfigKey<?>> ALL =
      List.of(ENDPOINT, SERVICE_NAME, SAMPLER_RATIO, EXPORT_TIMEOUT_MS, MAX_QUEUE);

  private static Double ratio(String text) {
    double v;
    try {
      v = Double.parseDouble(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + text + "\" is not a number");
    }
    if (!(v >= 0 && v <= 1)) {
      throw new IllegalArgumentException(v + " is not in [0, 1]");
    }
    return v;
  }
}
