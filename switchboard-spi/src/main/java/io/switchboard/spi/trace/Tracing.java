package io.switchboard.spi.trace;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The server's spans, for every front end: {@code publish} (or {@code reply}, a publish to a reply
 * inbox) and its child {@code store} (ended when the append is acknowledged), {@code request}, and
 * {@code deliver}. Each continues the W3C trace context a message carries in its {@code
 * traceparent} / {@code tracestate} headers, and hands its own context on in those headers, so the
 * next hop is its child. Thread-safe and stateless beyond the tracer.
 *
 * <p>{@link #OFF} (the default, {@code otel.exporter.otlp.endpoint} unset) costs a front end one
 * {@code final} field read per message: every method returns {@code null} or its argument at once,
 * reads no header and allocates nothing. Front ends write {@code tracing.enabled() ? ... : message}
 * or use the nullable {@link Op} the start methods return.
 */
public final class Tracing {
  /** The W3C trace context header names, as message headers on every protocol. */
  public static final String TRACEPARENT = "traceparent";

  public static final String TRACESTATE = "tracestate";

  /** Tracing off: no tracer, no header parsing. */
  public static final Tracing OFF = new Tracing(null);

  static final String INSTRUMENTATION = "io.switchboard.server";

  private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
  private static final AttributeKey<String> DESTINATION =
      AttributeKey.stringKey("messaging.destination.name");
  private static final AttributeKey<String> OPERATION =
      AttributeKey.stringKey("messaging.operation.type");
  private static final AttributeKey<String> PROTOCOL =
      AttributeKey.stringKey("switchboard.protocol");
  private static final AttributeKey<String> STREAM = AttributeKey.stringKey("switchboard.stream");
  private static final AttributeKey<Long> PARTITION =
      AttributeKey.longKey("messaging.destination.partition.id");
  private static final AttributeKey<Long> OFFSET = AttributeKey.longKey("switchboard.offset");
  private static final AttributeKey<String> CONSUMER =
      AttributeKey.stringKey("messaging.consumer.group.name");
  private static final AttributeKey<Long> BODY_SIZE =
      AttributeKey.longKey("messaging.message.body.size");

  private final Tracer tracer;

  private Tracing(Tracer tracer) {
    this.tracer = tracer;
  }

  /** Spans through {@code otel} (the server's SDK, or a test's). */
  public static Tracing of(OpenTelemetry otel) {
    return new Tracing(otel.getTracer(INSTRUMENTATION));
  }

  /** Whether spans are recorded; when false, every other method is a no-op. */
  public boolean enabled() {
    return tracer != null;
  }

  /**
   * Starts the {@code publish} span of {@code message} (its parent: the context in its headers),
   * named {@code reply} for a publish to a reply inbox, with a {@code store} child. Null when off.
   * Publish {@link Op#message()} instead of {@code message}, then call {@link Op#stored}.
   */
  public Op publish(String protocol, Message message) {
    if (tracer == null) {
      return null;
    }
    boolean reply = message.subject().startsWith(LiveBus.INBOX_PREFIX);
    Span span = start(reply ? "reply" : "publish", SpanKind.SERVER, protocol, message);
    Context ctx = Context.root().with(span);
    Span store =
        tracer
            .spanBuilder("store")
            .setParent(ctx)
            .setSpanKind(SpanKind.INTERNAL)
            .setAttribute(SYSTEM, "switchboard")
            .setAttribute(DESTINATION, message.subject())
            .startSpan();
    return new Op(span, store, carry(ctx, message));
  }

  /**
   * Starts the {@code request} span of {@code message}: ended by {@link Op#replied}. Null when off.
   */
  public Op request(String protocol, Message message) {
    if (tracer == null) {
      return null;
    }
    Span span = start("request", SpanKind.SERVER, protocol, message);
    return new Op(span, null, carry(Context.root().with(span), message));
  }

  /**
   * The {@code deliver} span of {@code message} to a consumer (or a live subscriber: {@code
   * consumer} null): a child of the context it carries, ended at once; the message returned carries
   * this span's context. A message without a {@code traceparent} is returned as it is (tracing only
   * continues traces), and so is every message when off.
   */
  public Message deliver(String protocol, Message message, String consumer) {
    if (tracer == null || message.header(TRACEPARENT) == null) {
      return message;
    }
    Span span = start("deliver", SpanKind.PRODUCER, protocol, message);
    if (consumer != null) {
      span.setAttribute(CONSUMER, consumer);
    }
    Message out = carry(Context.root().with(span), message);
    span.end();
    return out;
  }

  private Span start(String name, SpanKind kind, String protocol, Message message) {
    Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), message, GET);
    return tracer
        .spanBuilder(name)
        .setParent(parent)
        .setSpanKind(kind)
        .setAttribute(SYSTEM, "switchboard")
        .setAttribute(OPERATION, name)
        .setAttribute(DESTINATION, message.subject())
        .setAttribute(PROTOCOL, protocol)
        .setAttribute(BODY_SIZE, (long) message.payload().length)
        .startSpan();
  }

  /** {@code message} with its trace context headers replaced by {@code ctx}'s. */
  static Message carry(Context ctx, Message message) {
    List<Header> headers = new ArrayList<>(message.headers().size() + 2);
    for (Header h : message.headers()) {
      if (!h.key().equals(TRACEPARENT) && !h.key().equals(TRACESTATE)) {
        headers.add(h);
      }
    }
    W3CTraceContextPropagator.getInstance().inject(ctx, headers, SET);
    return new Message(
        message.subject(),
        message.key(),
        headers,
        message.payload(),
        message.timestampMs(),
        message.replyTo());
  }

  private static final TextMapGetter<Message> GET =
      new TextMapGetter<>() {
        @Override
        @SuppressWarnings(
            "deprecation") // required by the interface; the W3C propagator never calls it
        public Iterable<String> keys(Message carrier) {
          return carrier.headers().stream().map(Header::key).toList();
        }

        @Override
        public String get(Message carrier, String key) {
          if (carrier == null) {
            return null;
          }
          byte[] v = carrier.header(key);
          return v == null ? null : new String(v, StandardCharsets.UTF_8);
        }
      };

  private static final TextMapSetter<List<Header>> SET =
      (carrier, key, value) -> {
        if (carrier != null) {
          carrier.add(new Header(key, value.getBytes(StandardCharsets.UTF_8)));
        }
      };

  /**
   * A started publish or request: the message to hand the broker (carrying this span's context),
   * and the call that ends the spans with the broker's answer.
   */
  public static final class Op {
    private final Span span;
    private final Span store;
    private final Message message;

    Op(Span span, Span store, Message message) {
      this.span = span;
      this.store = store;
      this.message = message;
    }

    /** The message to publish or send: the original with this span's trace context. */
    public Message message() {
      return message;
    }

    /** Ends {@code store} and then {@code publish} when the append is acknowledged or refused. */
    public <T> CompletableFuture<T> stored(CompletableFuture<T> ack) {
      ack.whenComplete(
          (a, e) -> {
            if (e != null) {
              fail(store, e);
              fail(span, e);
            } else if (a instanceof PublishAck p) {
              store.setAttribute(STREAM, p.stream());
              store.setAttribute(PARTITION, (long) p.partition());
              store.setAttribute(OFFSET, p.offset());
            }
            store.end();
            span.end();
          });
      return ack;
    }

    /** Ends {@code request} when the reply arrives, or the request fails. */
    public <T> CompletableFuture<T> replied(CompletableFuture<T> reply) {
      reply.whenComplete(
          (r, e) -> {
            if (e != null) {
              fail(span, e);
            }
            span.end();
          });
      return reply;
    }

    /** Ends the spans of a publish or request the front end could not hand over at all. */
    public void failed(Throwable e) {
      if (store != null) {
        fail(store, e);
        store.end();
      }
      fail(span, e);
      span.end();
    }

    private static void fail(Span s, Throwable e) {
      Throwable cause = e instanceof java.util.concurrent.CompletionException c ? c.getCause() : e;
      s.setStatus(StatusCode.ERROR, String.valueOf(cause.getMessage()));
      s.recordException(cause);
    }
  }
}
