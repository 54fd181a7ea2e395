package io.switchboard.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredHeaders;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Futures;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.admin.JsonErrors;
import io.switchboard.spi.trace.Tracing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publish, batch publish, request/reply and the event store (docs/http.md). Thread-safe: holds only
 * the broker and the clock. Threading (docs/architecture.md): publishes use the broker's {@code
 * completeOn} overloads and reads go through {@code Broker.offload}, both completing on the
 * request's event loop ({@link Exchange#loop()}); a live reply is moved there too. No route code
 * runs on a partition runner, a flusher or a replier's thread.
 */
final class MessagingRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(MessagingRoutes.class);

  /** Prefix of request headers that become message headers, and of reply headers going back. */
  static final String HEADER_PREFIX = "sb-header-";

  /** The protocol named on this front end's spans. */
  static final String PROTOCOL = "http";

  /** 1,000 messages per batch: enough to amortise a round trip, bounded for one event loop. */
  static final int MAX_BATCH = 1000;

  /** 5 s: a request/reply's default wait; 5 min the longest one may ask for. */
  static final long DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

  static final long MAX_REQUEST_TIMEOUT_MS = 300_000;

  /** 100 events per read by default, 10,000 at most: a page, bounded by the body it makes. */
  static final int DEFAULT_READ_MAX = 100;

  static final int MAX_READ_MAX = 10_000;

  /**
   * 100 years: a time to live long enough to mean "keep", short enough that a message's timestamp
   * plus it cannot overflow.
   */
  static final long MAX_TTL_MS = 100L * 365 * 86_400_000;

  private final Broker broker;
  private final Clock clock;
  private final JsonRpc rpc;
  private final HttpMetrics metrics;
  private final Tracing tracing;

  MessagingRoutes(Broker broker, Clock clock, JsonRpc rpc, HttpMetrics metrics, Tracing tracing) {
    this.tracing = tracing;
    this.broker = broker;
    this.clock = clock;
    this.rpc = rpc;
    this.metrics = metrics;
  }

  void register(Router<Handler> r) {
    r.add(HttpMethod.POST, "/v1/subjects/{subject}", this::publish)
        .add(HttpMethod.POST, "/v1/subjects", this::publishBatch)
        .add(HttpMethod.POST, "/v1/requests/{subject}", this::request)
        .add(HttpMethod.POST, "/v1/jsonrpc", this::jsonRpc)
        .add(HttpMethod.GET, "/v1/streams/{stream}/subjects/{subject}", this::readSubject)
        .add(HttpMethod.POST, "/v1/streams/{stream}/subjects/{subject}", this::append)
        .add(HttpMethod.GET, "/v1/streams/{stream}/subjects/{subject}/last", this::last);
  }

  // ------------------------------------------------------------------ publish

  /**
   * {@code POST /v1/subjects/{subject}}: the body is the payload. Codes: INVALID_ARGUMENT (a bad
   * {@code Sb-Ttl-Ms}), INVALID_SUBJECT, STREAM_MISMATCH, MESSAGE_TOO_LARGE, PUBLISH_BACKPRESSURE,
   * STREAM_FULL, INVALID_DELAY, BROKER_CLOSED, PARTITION_CLOSED, and storage errors.
   */
  private CompletableFuture<HttpReply> publish(Exchange x) {
    Message m = messageOf(x, x.param("subject"));
    PublishOptions options =
        new PublishOptions(
            x.headers().get("Sb-Expected-Stream"),
            messageIdOf(x),
            PublishOptions.NO_EXPECTATION,
            null);
    Tracing.Op span = tracing.publish(PROTOCOL, m);
    CompletableFuture<PublishAck> stored =
        span == null
            ? broker.publish(m, options, x.loop())
            : span.stored(broker.publish(span.message(), options, x.loop()));
    return stored.thenApply(
        ack -> {
          metrics.published(m.payload().length);
          return HttpReply.json(200, ackJson(ack));
        });
  }

  /**
   * The message a request describes: payload, key, headers, reply subject, Content-Type.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} for a bad {@code Sb-Ttl-Ms}
   */
  private Message messageOf(Exchange x, String subject) {
    List<Header> headers = new ArrayList<>();
    for (Map.Entry<String, String> h : x.headers()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (name.startsWith(HEADER_PREFIX) && name.length() > HEADER_PREFIX.length()) {
        headers.add(new Header(name.substring(HEADER_PREFIX.length()), utf8(h.getValue())));
      }
    }
    copyHeader(
        x, HttpHeaderNames.CONTENT_TYPE.toString(), MessageJson.CONTENT_TYPE_HEADER, headers);
    // W3C trace context: the standard HTTP headers are the message's (an Sb-Header- copy wins).
    if (!hasHeader(headers, Tracing.TRACEPARENT)) {
      copyHeader(x, Tracing.TRACEPARENT, Tracing.TRACEPARENT, headers);
    }
    if (!hasHeader(headers, Tracing.TRACESTATE)) {
      copyHeader(x, Tracing.TRACESTATE, Tracing.TRACESTATE, headers);
    }
    copyHeader(x, "Sb-Delay-Ms", StoredHeaders.DELAY, headers);
    copyHeader(x, "Sb-Deliver-At", StoredHeaders.DELIVER_AT, headers);
    // Checked here: consumers read a negative or malformed TTL as "expired" or "never", silently.
    Long ttlMs = x.headerLong("Sb-Ttl-Ms", 0, MAX_TTL_MS);
    if (ttlMs != null) {
      headers.add(new Header(Message.TTL_HEADER, utf8(Long.toString(ttlMs))));
    }
    String key = x.query("key", null);
    return new Message(
        subject,
        key == null ? null : utf8(key),
        headers,
        x.body(),
        clock.nowMs(),
        x.headers().get("Sb-Reply-To"));
  }

  private static boolean hasHeader(List<Header> headers, String name) {
    for (Header h : headers) {
      if (h.key().equals(name)) {
        return true;
      }
    }
    return false;
  }

  private static void copyHeader(Exchange x, String http, String header, List<Header> out) {
    String v = x.headers().get(http);
    if (v != null) {
      out.add(new Header(header, utf8(v)));
    }
  }

  private static String messageIdOf(Exchange x) {
    String id = x.headers().get("Idempotency-Key");
    return id != null ? id : x.headers().get("Sb-Msg-Id");
  }

  static ObjectNode ackJson(PublishAck ack) {
    ObjectNode n = AdminJson.JSON.createObjectNode();
    n.put("stream", ack.stream());
    n.put("partition", ack.partition());
    n.put("offset", ack.offset());
    n.put("durability", ack.durability().name().toLowerCase(Locale.ROOT));
    n.put("duplicate", ack.duplicate());
    n.put("delayed", ack.delayed());
    n.put("deliverAtMs", ack.deliverAtMs());
    return n;
  }

  /**
   * {@code POST /v1/subjects}: a JSON array of envelopes, each published in order; the reply lists
   * an acknowledgement or a problem per entry. A malformed batch is refused whole (400) before
   * anything is published. Codes: INVALID_ARGUMENT, INVALID_SUBJECT (a trailing slash: the empty
   * subject).
   */
  private CompletableFuture<HttpReply> publishBatch(Exchange x) {
    if (x.path().endsWith("/")) {
      // The router drops a trailing slash, but POST /v1/subjects/ names a publish to the empty
      // subject: refused as one, rather than reading the payload as a batch.
      throw SwitchboardException.of(
          ErrorCode.INVALID_SUBJECT, "", "empty (publish to /v1/subjects/SUBJECT)");
    }
    JsonNode array = parseJson(x.body());
    if (!array.isArray()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "a batch publish body is a JSON array of messages");
    }
    if (array.size() > MAX_BATCH) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "a batch holds at most " + MAX_BATCH + " messages, not " + array.size());
    }
    List<MessageJson.Envelope> envelopes = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      envelopes.add(MessageJson.envelope(array.get(i), i));
    }
    // All or nothing: a batch with one forbidden subject publishes none of it.
    long bytes = 0;
    for (MessageJson.Envelope e : envelopes) {
      HttpAccess.checkPublish(x.access(), e.subject());
      bytes += e.payload().length;
    }
    HttpAccess.checkPublishRate(x.access());
    x.access().quota().publish(envelopes.size(), bytes);
    long now = clock.nowMs();
    List<CompletableFuture<PublishAck>> futures = new ArrayList<>(envelopes.size());
    for (MessageJson.Envelope e : envelopes) {
      Message m = new Message(e.subject(), e.key(), e.headers(), e.payload(), now, e.replyTo());
      PublishOptions options = new PublishOptions(null, e.messageId());
      Tracing.Op span = tracing.publish(PROTOCOL, m);
      futures.add(
          span == null
              ? broker.publish(m, options, x.loop())
              : span.stored(broker.publish(span.message(), options, x.loop())));
    }
    return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .handle(
            (v, ignored) -> {
              ObjectNode out = AdminJson.JSON.createObjectNode();
              ArrayNode results = out.putArray("results");
              for (CompletableFuture<PublishAck> f : futures) {
                if (f.isCompletedExceptionally()) {
                  ObjectNode r = results.addObject();
                  SwitchboardException e = HttpErrors.unwrap(causeOf(f));
                  if (e.code() == ErrorCode.INTERNAL) {
                    LOG.warn("SB-HTTP-5004 a batch entry failed unexpectedly", causeOf(f));
                  }
                  r.set("error", HttpErrors.problem(e, null));
                } else {
                  results.add(ackJson(f.join()));
                }
              }
              for (int i = 0; i < futures.size(); i++) {
                if (!futures.get(i).isCompletedExceptionally()) {
                  metrics.published(envelopes.get(i).payload().length);
                }
              }
              return HttpReply.json(200, out);
            });
  }

  private static Throwable causeOf(CompletableFuture<?> f) {
    try {
      f.join();
      return new IllegalStateException("not failed");
    } catch (RuntimeException e) {
      return e;
    }
  }

  // ------------------------------------------------------------------ request/reply

  /**
   * {@code POST /v1/requests/{subject}?timeoutMs=}: answered with the first reply's payload (its
   * headers as {@code Sb-Header-*}). Codes: NO_RESPONDERS (503), REQUEST_TIMEOUT (504),
   * TOO_MANY_PENDING_REQUESTS, INVALID_SUBJECT, LIVE_BUS_CLOSED.
   */
  private CompletableFuture<HttpReply> request(Exchange x) {
    long timeoutMs =
        x.queryLong("timeoutMs", DEFAULT_REQUEST_TIMEOUT_MS, 1, MAX_REQUEST_TIMEOUT_MS);
    Message m = messageOf(x, x.param("subject"));
    Tracing.Op span = tracing.request(PROTOCOL, m);
    CompletableFuture<Message> reply =
        span == null
            ? broker.live().request(m, Duration.ofMillis(timeoutMs))
            : span.replied(broker.live().request(span.message(), Duration.ofMillis(timeoutMs)));
    // The reply arrives on the replier's thread or the live bus's timer: decoded on the loop.
    return Futures.completeOn(reply, x.loop()).thenApply(MessagingRoutes::replyOf);
  }

  private static HttpReply replyOf(Message reply) {
    byte[] ct = reply.header(MessageJson.CONTENT_TYPE_HEADER);
    Map<String, String> headers = new LinkedHashMap<>();
    for (Header h : reply.headers()) {
      String v = h.value() == null ? "" : MessageJson.utf8(h.value());
      if (!h.key().equals(MessageJson.CONTENT_TYPE_HEADER) && v != null && printable(v)) {
        headers.put("Sb-Header-" + h.key(), v);
        if (h.key().equals(Tracing.TRACEPARENT) || h.key().equals(Tracing.TRACESTATE)) {
          headers.putIfAbsent(h.key(), v); // the standard header too, for HTTP tracers
        }
      }
    }
    String type = ct == null ? null : MessageJson.utf8(ct);
    return new HttpReply(
        200,
        type != null && printable(type) ? type : "application/octet-stream",
        reply.payload(),
        headers);
  }

  /** Header values must not carry control characters (RFC 9110 §5.5). */
  static boolean printable(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code POST /v1/jsonrpc?timeoutMs=}: one JSON-RPC 2.0 call or a batch ({@link JsonRpc}). 200
   * with the response (errors included, as the spec's error objects), 204 when everything was a
   * notification.
   */
  private CompletableFuture<HttpReply> jsonRpc(Exchange x) {
    long timeoutMs =
        x.queryLong("timeoutMs", DEFAULT_REQUEST_TIMEOUT_MS, 1, MAX_REQUEST_TIMEOUT_MS);
    return rpc.call(x.body(), timeoutMs, x.access(), x.loop())
        .thenApply(r -> r == null ? HttpReply.noContent() : HttpReply.json(200, r));
  }

  // ------------------------------------------------------------------ event store

  /**
   * {@code GET /v1/streams/{stream}/subjects/{subject}?from=&max=}: every event of a subject in
   * order. Codes: STREAM_NOT_FOUND, INVALID_SUBJECT.
   */
  private CompletableFuture<HttpReply> readSubject(Exchange x) {
    String stream = x.param("stream");
    String subject = x.param("subject");
    long from = x.queryLong("from", 0, 0, Long.MAX_VALUE);
    int max = (int) x.queryLong("max", DEFAULT_READ_MAX, 1, MAX_READ_MAX);
    return broker.offload(
        () -> {
          List<StoredMessage> got = broker.readSubject(stream, subject, from, max);
          ObjectNode out = AdminJson.JSON.createObjectNode();
          ArrayNode events = out.putArray("events");
          got.forEach(s -> events.add(MessageJson.stored(s)));
          out.put("next", got.isEmpty() ? from : got.getLast().offset() + 1);
          return HttpReply.json(200, out);
        },
        x.loop());
  }

  /**
   * {@code POST /v1/streams/{stream}/subjects/{subject}}: appends an event, only if the subject's
   * last event is at the offset {@code If-Match} names ({@code If-None-Match: *}: no event yet).
   * Codes: PUBLISH_CONFLICT (412, with {@code currentOffset}), STREAM_MISMATCH (412: the stream
   * does not capture the subject), and those of a publish.
   */
  private CompletableFuture<HttpReply> append(Exchange x) {
    String stream = x.param("stream");
    long expected = expectation(x);
    Message m = messageOf(x, x.param("subject"));
    PublishOptions options = new PublishOptions(stream, messageIdOf(x), expected, null);
    Tracing.Op span = tracing.publish(PROTOCOL, m);
    CompletableFuture<PublishAck> stored =
        span == null
            ? broker.publish(m, options, x.loop())
            : span.stored(broker.publish(span.message(), options, x.loop()));
    return stored.thenApply(
        ack -> {
          metrics.published(m.payload().length);
          return HttpReply.json(200, ackJson(ack)).withHeader("ETag", etag(ack.offset()));
        });
  }

  private static long expectation(Exchange x) {
    String ifMatch = x.headers().get("If-Match");
    String ifNoneMatch = x.headers().get("If-None-Match");
    if (ifMatch != null && ifNoneMatch != null) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "give If-Match or If-None-Match, not both");
    }
    if (ifNoneMatch != null) {
      if (!ifNoneMatch.trim().equals("*")) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "If-None-Match accepts only * (no event yet)");
      }
      return PublishOptions.NO_OFFSET;
    }
    if (ifMatch == null) {
      return PublishOptions.NO_EXPECTATION;
    }
    String v = ifMatch.trim();
    if (v.startsWith("\"") && v.endsWith("\"") && v.length() >= 2) {
      v = v.substring(1, v.length() - 1);
    }
    try {
      long offset = Long.parseLong(v);
      if (offset >= 0) {
        return offset;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw SwitchboardException.of(
        ErrorCode.INVALID_ARGUMENT, "If-Match must name an offset (\"12\" or 12), not " + ifMatch);
  }

  static String etag(long offset) {
    return "\"" + offset + "\"";
  }

  /**
   * {@code GET /v1/streams/{stream}/subjects/{subject}/last}: the subject's last event (key/value
   * get), with its offset as ETag. Codes: STREAM_NOT_FOUND, HTTP_NOT_FOUND (no event),
   * SUBJECT_INDEX_FULL.
   */
  private CompletableFuture<HttpReply> last(Exchange x) {
    String stream = x.param("stream");
    String subject = x.param("subject");
    return broker.offload(
        () -> {
          Optional<StoredMessage> got = broker.lastMessage(stream, subject);
          if (got.isEmpty()) {
            throw SwitchboardException.of(ErrorCode.HTTP_NOT_FOUND, x.path());
          }
          return HttpReply.json(200, MessageJson.stored(got.get()))
              .withHeader("ETag", etag(got.get().offset()));
        },
        x.loop());
  }

  // ------------------------------------------------------------------ helpers

  /** A request body that must be JSON; INVALID_ARGUMENT naming where it fails to parse. */
  static JsonNode parseJson(byte[] body) {
    try {
      JsonNode n = AdminJson.JSON.readTree(body);
      if (n == null || n.isMissingNode()) {
        throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "the body is empty, not JSON");
      }
      return n;
    } catch (JacksonException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "the body is not valid JSON: " + JsonErrors.describe(e));
    } catch (IOException e) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "the body cannot be read");
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
