package io.switchboard.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.spi.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * W3C trace context in gRPC metadata: a call's {@code traceparent} / {@code tracestate} metadata
 * entries (read once per call, whether tracing is on or off) and the server's {@link Tracing} go
 * into the gRPC {@link Context} for the services, which add them to the messages the call publishes
 * or requests that carry no {@code traceparent} of their own. Thread-safe.
 */
final class GrpcTrace implements ServerInterceptor {
  static final Metadata.Key<String> TRACEPARENT =
      Metadata.Key.of(Tracing.TRACEPARENT, Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> TRACESTATE =
      Metadata.Key.of(Tracing.TRACESTATE, Metadata.ASCII_STRING_MARSHALLER);

  private static final Context.Key<Tracing> TRACING = Context.key("switchboard-tracing");
  private static final Context.Key<List<Header>> HEADERS = Context.key("switchboard-trace");

  /** {@code switchboard.protocol} of the spans. */
  static final String PROTOCOL = "grpc";

  private final Tracing tracing;

  GrpcTrace(Tracing tracing) {
    this.tracing = tracing;
  }

  /** The server's tracing, in a call ({@link Tracing#OFF} outside one). */
  static Tracing tracing() {
    Tracing t = TRACING.get();
    return t == null ? Tracing.OFF : t;
  }

  /** The call's trace context headers from its metadata (empty: none sent). */
  static List<Header> headers() {
    List<Header> h = HEADERS.get();
    return h == null ? List.of() : h;
  }

  /**
   * {@code m} with the call's trace context {@code headers} added, unless it carries a {@code
   * traceparent} itself (or there is none to add).
   */
  static Message withTrace(Message m, List<Header> headers) {
    if (headers.isEmpty() || m.header(Tracing.TRACEPARENT) != null) {
      return m;
    }
    List<Header> all = new ArrayList<>(m.headers().size() + headers.size());
    for (Header h : m.headers()) {
      if (!h.key().equals(Tracing.TRACESTATE)) {
        all.add(h); // a tracestate belongs to its traceparent: the call's replaces a stray one
      }
    }
    all.addAll(headers);
    return new Message(m.subject(), m.key(), all, m.payload(), m.timestampMs(), m.replyTo());
  }

  /** The {@code traceparent} / {@code tracestate} headers {@code m} carries (empty: none). */
  static List<Header> traceHeaders(Message m) {
    byte[] parent = m.header(Tracing.TRACEPARENT);
    if (parent == null) {
      return List.of();
    }
    byte[] state = m.header(Tracing.TRACESTATE);
    Header p = new Header(Tracing.TRACEPARENT, parent);
    return state == null ? List.of(p) : List.of(p, new Header(Tracing.TRACESTATE, state));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata metadata, ServerCallHandler<Q, R> next) {
    String parent = metadata.get(TRACEPARENT);
    List<Header> headers = List.of();
    if (parent != null) {
      String state = metadata.get(TRACESTATE);
      Header p = new Header(Tracing.TRACEPARENT, parent.getBytes(StandardCharsets.US_ASCII));
      headers =
          state == null
              ? List.of(p)
              : List.of(
                  p, new Header(Tracing.TRACESTATE, state.getBytes(StandardCharsets.US_ASCII)));
    }
    Context ctx = Context.current().withValue(TRACING, tracing).withValue(HEADERS, headers);
    return Contexts.interceptCall(ctx, call, metadata, next);
  }
}
