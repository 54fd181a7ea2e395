package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Futures;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * Streams and consumers (the JSON shapes of docs/protocol.md §11), pulling with fetch and acking,
 * and the health routes. Administration goes through {@code Broker.offload} (the broker serializes
 * it and it touches the disk) and completes on the request's loop; fetch and acks complete there
 * too (the broker's {@code completeOn} overload), so their JSON is never built on the consumer's
 * runner. Thread-safe.
 */
final class AdminRoutes {
  /** 1,000 messages per fetch at most; 10 by default. */
  static final int MAX_FETCH = 1000;

  static final int DEFAULT_FETCH = 10;

  /** 60 s: the longest a fetch may wait for its first message (a long poll). */
  static final long MAX_FETCH_WAIT_MS = 60_000;

  /** The member name of a fetch that names none. */
  static final String DEFAULT_MEMBER = "http";

  /** 10,000 acknowledgements per request at most. */
  static final int MAX_ACKS = 10_000;

  private final Broker broker;
  private final PushRegistry pushes;
  private final BooleanSupplier ready;
  private final HttpMetrics metrics;
  private final io.switchboard.spi.trace.Tracing tracing;
  private final byte[] openApi = openApi();

  AdminRoutes(
      Broker broker,
      PushRegistry pushes,
      BooleanSupplier ready,
      HttpMetrics metrics,
      io.switchboard.spi.trace.Tracing tracing) {
    this.tracing = tracing;
    this.broker = broker;
    this.pushes = pushes;
    this.ready = ready;
    this.metrics = metrics;
  }

  void register(Router<Handler> r) {
    r.add(HttpMethod.GET, "/healthz", x -> done(HttpReply.json(200, Map.of("status", "up"))))
        .add(HttpMethod.GET, "/readyz", this::readyz)
        .add(HttpMethod.GET, "/metrics", x -> blocking(x, this::metrics))
        .add(
            HttpMethod.GET,
            "/v1/openapi.json",
            x -> done(new HttpReply(200, HttpReply.JSON, openApi, Map.of())))
        .add(HttpMethod.GET, "/v1/streams", x -> blocking(x, () -> listStreams()))
        .add(HttpMethod.POST, "/v1/streams", this::createStream)
        .add(HttpMethod.GET, "/v1/streams/{stream}", this::streamInfo)
        .add(HttpMethod.PUT, "/v1/streams/{stream}", this::putStream)
        .add(HttpMethod.DELETE, "/v1/streams/{stream}", this::deleteStream)
        .add(HttpMethod.GET, "/v1/streams/{stream}/consumers", this::listConsumers)
        .add(HttpMethod.POST, "/v1/streams/{stream}/consumers", this::createConsumer)
        .add(HttpMethod.GET, "/v1/streams/{stream}/consumers/{consumer}", this::consumerInfo)
        .add(HttpMethod.PUT, "/v1/streams/{stream}/consumers/{consumer}", this::putConsumer)
        .add(HttpMethod.DELETE, "/v1/streams/{stream}/consumers/{consumer}", this::deleteConsumer)
        .add(HttpMethod.POST, "/v1/streams/{stream}/consumers/{consumer}/fetch", this::fetch)
        .add(HttpMethod.POST, "/v1/streams/{stream}/consumers/{consumer}/acks", this::acks);
  }

  private static CompletableFuture<HttpReply> done(HttpReply r) {
    return CompletableFuture.completedFuture(r);
  }

  private CompletableFuture<HttpReply> blocking(
      Exchange x, java.util.function.Supplier<HttpReply> work) {
    return broker.offload(work, x.loop());
  }

  /**
   * 200 while the listener is bound and the front end not closing; else 503 SERVER_SHUTTING_DOWN.
   */
  private CompletableFuture<HttpReply> readyz(Exchange x) {
    if (!ready.getAsBoolean()) {
      throw SwitchboardException.of(ErrorCode.SERVER_SHUTTING_DOWN);
    }
    return done(HttpReply.json(200, Map.of("status", "ready")));
  }

  /**
   * The OpenAPI 3.1 document of every route, a static resource ({@code OpenApiTest} checks it
   * against the routers); read once, at start.
   */
  private static byte[] openApi() {
    try (java.io.InputStream in = AdminRoutes.class.getResourceAsStream("openapi.json")) {
      if (in == null) {
        throw new IllegalStateException("openapi.json is missing from the class path");
      }
      return in.readAllBytes();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Prometheus text format 0.0.4; reads the broker's streams and consumers, so off the loop. */
  private HttpReply metrics() {
    return new HttpReply(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8),
        Map.of());
  }

  // ------------------------------------------------------------------ streams

  private HttpReply listStreams() {
    return HttpReply.json(200, Map.of("streams", broker.listStreams()));
  }

  /** Codes: STREAM_EXISTS, STREAM_SUBJECTS_OVERLAP, INVALID_CONFIG, INVALID_ARGUMENT. */
  private CompletableFuture<HttpReply> createStream(Exchange x) {
    StreamConfig config = AdminJson.streamConfig(AdminJson.parse(x.body()));
    return blocking(
        x,
        () ->
            HttpReply.json(201, broker.createStream(config))
                .withHeader("Location", "/v1/streams/" + config.name()));
  }

  /** Codes: STREAM_NOT_FOUND. */
  private CompletableFuture<HttpReply> streamInfo(Exchange x) {
    String name = x.param("stream");
    return blocking(x, () -> HttpReply.json(200, broker.streamInfo(name)));
  }

  /**
   * Creates the stream (201) or updates it (200). Codes: STREAM_UPDATE_NOT_ALLOWED,
   * STREAM_SUBJECTS_OVERLAP, INVALID_CONFIG, INVALID_ARGUMENT (a body naming another stream).
   */
  private CompletableFuture<HttpReply> putStream(Exchange x) {
    String name = x.param("stream");
    StreamConfig config = AdminJson.streamConfig(named(x, "name", name));
    return blocking(
        x,
        () -> {
          for (int attempt = 0; ; attempt++) {
            try {
              return HttpReply.json(200, broker.updateStream(config));
            } catch (SwitchboardException e) {
              if (e.code() != ErrorCode.STREAM_NOT_FOUND) {
                throw e;
              }
            }
            try {
              return HttpReply.json(201, broker.createStream(config));
            } catch (SwitchboardException e) {
              // Created by someone else between the two calls: update that one instead.
              if (e.code() != ErrorCode.STREAM_EXISTS || attempt > 0) {
                throw e;
              }
            }
          }
        });
  }

  /** Codes: STREAM_NOT_FOUND. */
  private CompletableFuture<HttpReply> deleteStream(Exchange x) {
    String name = x.param("stream");
    return blocking(
        x,
        () -> {
          broker.deleteStream(name);
          return HttpReply.noContent();
        });
  }

  /**
   * The request body as an object whose {@code field} is {@code value}: filled in when left out,
   * refused when it names something else.
   */
  private static ObjectNode named(Exchange x, String field, String value) {
    JsonNode body = AdminJson.parse(x.body().length == 0 ? new byte[] {'{', '}'} : x.body());
    ObjectNode o = (ObjectNode) body;
    JsonNode given = o.get(field);
    if (given == null) {
      o.put(field, value);
    } else if (!given.isTextual() || !given.asText().equals(value)) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "the body's \"" + field + "\" (" + given + ") differs from the path's \"" + value + "\"");
    }
    return o;
  }

  // ------------------------------------------------------------------ consumers

  /** Codes: STREAM_NOT_FOUND. */
  private CompletableFuture<HttpReply> listConsumers(Exchange x) {
    String stream = x.param("stream");
    return blocking(
        x, () -> HttpReply.json(200, Map.of("consumers", broker.listConsumers(stream))));
  }

  /** Codes: STREAM_NOT_FOUND, CONSUMER_EXISTS, INVALID_CONFIG, INVALID_ARGUMENT. */
  private CompletableFuture<HttpReply> createConsumer(Exchange x) {
    String stream = x.param("stream");
    ConsumerConfig config = AdminJson.consumerDefinition(AdminJson.parse(x.body()));
    return blocking(
        x,
        () ->
            HttpReply.json(201, broker.createConsumer(stream, config))
                .withHeader("Location", "/v1/streams/" + stream + "/consumers/" + config.name()));
  }

  /** Codes: STREAM_NOT_FOUND, CONSUMER_NOT_FOUND. */
  private CompletableFuture<HttpReply> consumerInfo(Exchange x) {
    String stream = x.param("stream");
    String consumer = x.param("consumer");
    return blocking(x, () -> HttpReply.json(200, broker.consumerInfo(stream, consumer)));
  }

  /**
   * Creates the consumer (201); an existing one with the same definition is 200, with another
   * definition CONSUMER_EXISTS (409): consumers cannot be changed in place.
   */
  private CompletableFuture<HttpReply> putConsumer(Exchange x) {
    String stream = x.param("stream");
    String name = x.param("consumer");
    ConsumerConfig config = AdminJson.consumerDefinition(named(x, "name", name));
    return blocking(
        x,
        () -> {
          try {
            return HttpReply.json(201, broker.createConsumer(stream, config));
          } catch (SwitchboardException e) {
            if (e.code() != ErrorCode.CONSUMER_EXISTS) {
              throw e;
            }
            ConsumerInfo existing = broker.consumerInfo(stream, name);
            if (!existing.config().equals(config)) {
              throw e;
            }
            return HttpReply.json(200, existing);
          }
        });
  }

  /** Codes: STREAM_NOT_FOUND, CONSUMER_NOT_FOUND. */
  private CompletableFuture<HttpReply> deleteConsumer(Exchange x) {
    String stream = x.param("stream");
    String consumer = x.param("consumer");
    return blocking(
        x,
        () -> {
          broker.deleteConsumer(stream, consumer);
          return HttpReply.noContent();
        });
  }

  // ------------------------------------------------------------------ fetch and acks

  /**
   * {@code POST .../fetch?max=&waitMs=&member=}: up to {@code max} messages, waiting up to {@code
   * waitMs} for the first; the broker's future completes the reply, nothing waits on a thread.
   * Codes: STREAM_NOT_FOUND, CONSUMER_NOT_FOUND, TOO_MANY_WAITING_FETCHES, CONSUMER_EXCLUSIVE,
   * CONSUMER_CLOSED.
   */
  private CompletableFuture<HttpReply> fetch(Exchange x) {
    String stream = x.param("stream");
    String consumer = x.param("consumer");
    int max = (int) x.queryLong("max", DEFAULT_FETCH, 1, MAX_FETCH);
    long waitMs = x.queryLong("waitMs", 0, 0, MAX_FETCH_WAIT_MS);
    String member = x.query("member", DEFAULT_MEMBER);
    return broker
        .fetch(stream, consumer, member, max, waitMs, x.loop())
        .thenApply(
            list -> {
              ObjectNode out = AdminJson.JSON.createObjectNode();
              ArrayNode messages = out.putArray("messages");
              for (Delivery d : list) {
                messages.add(MessageJson.delivery(d, tracing, consumer));
                metrics.delivered(HttpMetrics.Transport.FETCH, d.message().payload().length);
              }
              return HttpReply.json(200, out);
            });
  }

  /**
   * {@code POST .../acks}: a JSON array of {@code {"id": "p:offset:count", "op": "ack" | "nack" |
   * "in_progress", "delayMs"?, "error"?}}; answers {@code {"results": [true, ...]}} (false: that
   * delivery was no longer the live one). Codes: STREAM_NOT_FOUND, CONSUMER_NOT_FOUND,
   * INVALID_ARGUMENT (a malformed entry, or a partition the stream does not have: nothing is
   * applied).
   */
  private CompletableFuture<HttpReply> acks(Exchange x) {
    String stream = x.param("stream");
    String consumer = x.param("consumer");
    JsonNode array = MessagingRoutes.parseJson(x.body());
    if (!array.isArray()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "an acks body is a JSON array of {\"id\": ..., \"op\": ...}");
    }
    if (array.size() > MAX_ACKS) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "at most " + MAX_ACKS + " acks per request");
    }
    List<AckEntry> entries = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      entries.add(AckEntry.of(array.get(i), i));
    }
    int partitions = partitionCount(broker, stream);
    for (int i = 0; i < entries.size(); i++) {
      checkPartition(entries.get(i).id(), partitions, stream, "ack " + i + ": ");
    }
    List<CompletableFuture<Boolean>> results = new ArrayList<>(entries.size());
    for (AckEntry e : entries) {
      results.add(settle(broker, pushes, stream, consumer, e.op(), e.id(), e.delayMs(), e.error()));
    }
    return Futures.completeOn(
            CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)), x.loop())
        .thenApply(
            v ->
                HttpReply.json(
                    200,
                    Map.of("results", results.stream().map(CompletableFuture::join).toList())));
  }

  /**
   * How many partitions {@code stream} has (a map lookup, no disk: fine on an event loop).
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}
   */
  static int partitionCount(Broker broker, String stream) {
    return broker.streamInfo(stream).config().partitions();
  }

  /**
   * Refuses a delivery id naming a partition the stream does not have: the broker would answer
   * {@code false}, as for a delivery that is no longer the live one, and hide the mistake.
   *
   * @param where prefix naming the entry in the message (may be empty)
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} naming the partition and count
   */
  static void checkPartition(
      MessageJson.DeliveryId id, int partitions, String stream, String where) {
    if (id.partition() < 0 || id.partition() >= partitions) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          where
              + "partition "
              + id.partition()
              + " does not exist: stream "
              + stream
              + " has "
              + partitions
              + (partitions == 1
                  ? " partition (0)"
                  : " partitions (0 to " + (partitions - 1) + ")"));
    }
  }

  /**
   * Applies one acknowledgement ({@code op}: ack, nack or in_progress); an ack or nack returns the
   * credit of the push feed that sent the delivery, on whichever connection. True when the delivery
   * was still the live one.
   */
  static CompletableFuture<Boolean> settle(
      Broker broker,
      PushRegistry pushes,
      String stream,
      String consumer,
      String op,
      MessageJson.DeliveryId id,
      long delayMs,
      String error) {
    return switch (op) {
      case "ack" -> {
        pushes.settled(stream, consumer, id.partition(), id.offset());
        yield broker.ack(stream, consumer, id.partition(), id.offset());
      }
      case "nack" -> {
        pushes.settled(stream, consumer, id.partition(), id.offset());
        yield broker.nack(
            stream, consumer, id.partition(), id.offset(), id.deliveryCount(), delayMs, error);
      }
      case "in_progress" ->
          broker.inProgress(stream, consumer, id.partition(), id.offset(), id.deliveryCount());
      default ->
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "op must be ack, nack or in_progress, not " + op);
    };
  }

  /** One acknowledgement of an acks body. */
  private record AckEntry(MessageJson.DeliveryId id, String op, long delayMs, String error) {
    static AckEntry of(JsonNode n, int at) {
      if (n == null || !n.isObject() || !n.path("id").isTextual()) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "ack " + at + " needs a string field \"id\" (partition:offset:deliveryCount)");
      }
      n.fieldNames()
          .forEachRemaining(
              f -> {
                if (!List.of("id", "op", "delayMs", "error").contains(f)) {
                  throw SwitchboardException.of(
                      ErrorCode.INVALID_ARGUMENT, "ack " + at + ": unknown field " + f);
                }
              });
      String op = n.path("op").asText("ack");
      if (!List.of("ack", "nack", "in_progress").contains(op)) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "ack " + at + ": op must be ack, nack or in_progress, not " + op);
      }
      JsonNode delay = n.get("delayMs");
      if (delay != null && !delay.canConvertToLong()) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "ack " + at + ": delayMs must be a whole number");
      }
      JsonNode error = n.get("error");
      return new AckEntry(
          MessageJson.parseDeliveryId(n.get("id").asText()),
          op,
          delay == null ? -1 : delay.asLong(),
          error == null || error.isNull() ? null : error.asText());
    }
  }
}
