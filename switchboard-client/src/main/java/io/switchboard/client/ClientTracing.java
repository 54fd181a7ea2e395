package io.switchboard.client;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.switchboard.core.Header;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The client's spans over the OpenTelemetry API (the application brings the SDK): {@code publish}
 * and {@code request} (producer and client spans whose context travels in the message's W3C {@code
 * traceparent} / {@code tracestate} headers), and {@code process} around a subscription's or
 * consumer's handler (a consumer span, child of the context the delivered message carries, current
 * while the handler runs, so a reply or a publish from the handler continues the trace). Off unless
 * {@link SwitchboardClient#withTracing} is called: then nothing is read or added. Thread-safe.
 */
final class ClientTracing {
  static final String TRACEPARENT = "traceparent";
  static final String TRACESTATE = "tracestate";

  /** No tracing. */
  static final ClientTracing OFF = new ClientTracing(null);

  private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
  private static final AttributeKey<String> DESTINATION =
      AttributeKey.stringKey("messaging.destination.name");
  private static final AttributeKey<String> OPERATION =
      AttributeKey.stringKey("messaging.operation.type");
  private static final AttributeKey<String> CONSUMER =
      AttributeKey.stringKey("messaging.consumer.group.name");

  private final Tracer tracer;

  private ClientTracing(Tracer tracer) {
    this.tracer = tracer;
  }

  static ClientTracing of(OpenTelemetry otel) {
    return new ClientTracing(otel.getTracer("io.switchboard.client"));
  }

  boolean enabled() {
    return tracer != null;
  }

  /**
   * Starts a span of {@code kind} named {@code name}, a child of the current context, and adds its
   * context to {@code headers} (replacing trace headers already there). Null when off.
   */
  Span startOutgoing(String name, SpanKind kind, String subject, List<Header> headers) {
    if (tracer == null) {
      return null;
    }
    Span span =
        tracer
            .spanBuilder(name)
            .setSpanKind(kind)
            .setAttribute(SYSTEM, "switchboard")
            .setAttribute(OPERATION, name)
            .setAttribute(DESTINATION, subject)
            .startSpan();
    headers.removeIf(h -> h.key().equals(TRACEPARENT) || h.key().equals(TRACESTATE));
    W3CTraceContextPropagator.getInstance()
        .inject(
            Context.current().with(span),
            headers,
            (carrier, key, value) -> {
              if (carrier != null) {
                carrier.add(new Header(key, value.getBytes(StandardCharsets.UTF_8)));
              }
            });
    return span;
  }

  /** Ends {@code span} (when not null) as {@code f} completes; returns {@code f}. */
  static <T> CompletableFuture<T> endOn(Span span, CompletableFuture<T> f) {
    if (span == null) {
      return f;
    }
    f.whenComplete(
        (v, e) -> {
          if (e != null) {
            Throwable c =
                e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            span.setStatus(StatusCode.ERROR, String.valueOf(c.getMessage()));
            span.recordException(c);
          }
          span.end();
        });
    return f;
  }

  /**
   * Runs {@code handler} inside a {@code process} span, a child of the trace context in {@code
   * headers} (or of nothing: a new trace), current while it runs. Off: just runs it.
   */
  void process(String subject, String consumer, List<Header> headers, Runnable handler) {
    if (tracer == null) {
      handler.run();
      return;
    }
    Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), headers, GET);
    var builder =
        tracer
            .spanBuilder("process")
            .setParent(parent)
            .setSpanKind(SpanKind.CONSUMER)
            .setAttribute(SYSTEM, "switchboard")
            .setAttribute(OPERATION, "process")
            .setAttribute(DESTINATION, subject);
    if (consumer != null) {
      builder.setAttribute(CONSUMER, consumer);
    }
    Span span = builder.startSpan();
    Scope scope = span.makeCurrent();
    try {
      handler.run();
    } catch (RuntimeException | Error e) {
      span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
      span.recordException(e);
      throw e;
    } finally {
      scope.close();
      span.end();
    }
  }

  private static final TextMapGetter<List<Header>> GET =
      new TextMapGetter<>() {
        @Override
        @SuppressWarnings("deprecation") // required by the interface; W3C extraction never calls it
        public Iterable<String> keys(List<Header> carrier) {
          List<String> out = new ArrayList<>();
          for (Header h : carrier) {
            out.add(h.key());
          }
          return out;
        }

        @Override
        public String get(List<Header> carrier, String key) {
          if (carrier == null) {
            return null;
          }
          for (Header h : carrier) {
            if (h.key().equals(key)) {
              return h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
            }
          }
          return null;
        }
      };
}
