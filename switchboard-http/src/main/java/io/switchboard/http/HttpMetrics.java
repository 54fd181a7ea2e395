package io.switchboard.http;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.ProtocolMeters;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The metrics served at {@code GET /metrics} in Prometheus text format (names listed in
 * docs/http.md): what this front end sees (requests by route and status, connections, messages
 * published and delivered through it), the broker's state read through its API at each scrape
 * (streams, consumers, the live bus), and the JVM's. One registry per front end, passed in, never
 * static. Thread-safe (Micrometer meters are); {@link #scrape} reads the broker and runs off the
 * event loops.
 */
final class HttpMetrics implements AutoCloseable {
  /** The protocol tag of the message counters; other front ends would count under their own. */
  static final String PROTOCOL = "http";

  /** How messages leave this front end. */
  enum Transport {
    SSE("sse"),
    WEBSOCKET("websocket"),
    FETCH("fetch");

    final String tag;

    Transport(String tag) {
      this.tag = tag;
    }
  }

  /** The route tag of requests that matched no route or could not be read. */
  static final String NO_ROUTE = "none";

  private final PrometheusMeterRegistry registry;
  private final Broker broker;
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final CompositeMeterRegistry serverMeters;
  private final ProtocolMeters meters;
  private final Map<Transport, ProtocolMeters.Delivery> deliveries = new EnumMap<>(Transport.class);
  private final MultiGauge streamMessages;
  private final MultiGauge streamBytes;
  private final MultiGauge consumerUnacknowledged;
  private final MultiGauge consumerPending;
  private final MultiGauge consumerDeadLettered;

  /**
   * @param registry what {@code /metrics} scrapes: this front end's Prometheus registry, a child of
   *     {@code serverMeters} since the server started (so a scrape shows every front end's)
   * @param serverMeters the server's registry: every front end's meters ({@link ProtocolMeters})
   */
  HttpMetrics(
      Broker broker,
      PrometheusMeterRegistry registry,
      CompositeMeterRegistry serverMeters,
      AtomicInteger connections,
      AtomicInteger sseConnections,
      AtomicInteger wsConnections,
      LongAdder failedRequests) {
    this.broker = broker;
    this.serverMeters = serverMeters;
    this.registry = registry;
    meters = new ProtocolMeters(serverMeters, PROTOCOL, connections);
    for (Transport t : Transport.values()) {
      deliveries.put(t, meters.delivery(t.tag));
    }
    Gauge.builder("switchboard.http.connections", connections, AtomicInteger::get)
        .description("HTTP connections open, event streams and WebSockets included")
        .register(registry);
    Gauge.builder("switchboard.http.sse.streams", sseConnections, AtomicInteger::get)
        .description("Server-Sent Event streams open")
        .register(registry);
    Gauge.builder("switchboard.http.websockets", wsConnections, AtomicInteger::get)
        .description("WebSocket connections open")
        .register(registry);
    FunctionCounter.builder("switchboard.http.failed.requests", failedRequests, LongAdder::sum)
        .description("Requests and WebSocket operations answered with an error")
        .register(registry);
    streamMessages =
        MultiGauge.builder("switchboard.stream.messages")
            .description("Messages held by a stream")
            .register(registry);
    streamBytes =
        MultiGauge.builder("switchboard.stream.bytes")
            .description("Bytes a stream holds on disk")
            .baseUnit("bytes")
            .register(registry);
    consumerUnacknowledged =
        MultiGauge.builder("switchboard.consumer.unacknowledged")
            .description("Messages of a consumer in flight or waiting for redelivery")
            .register(registry);
    consumerPending =
        MultiGauge.builder("switchboard.consumer.pending")
            .description("Messages a consumer has not yet delivered for the first time (its lag)")
            .register(registry);
    consumerDeadLettered =
        MultiGauge.builder("switchboard.consumer.dead.lettered")
            .description("Messages a consumer sent to its dead-letter subject since start")
            .register(registry);
    FunctionCounter.builder("switchboard.live.published", broker.live(), b -> b.publishedCount())
        .description("Messages published on the live bus, by every front end")
        .register(registry);
    FunctionCounter.builder("switchboard.schema.rejected", broker, Broker::schemaRejectedCount)
        .description("Messages a stream's schema requirement refused, by every front end")
        .register(registry);
    FunctionCounter.builder(
            "switchboard.live.deadline.expired", broker.live(), b -> b.deadlineExpiredCount())
        .description("Requests the broker dropped because their sb-deadline had passed")
        .register(registry);
    Gauge.builder("switchboard.live.subscriptions", broker.live(), b -> b.subscriptionCount())
        .description("Live subscriptions, by every front end")
        .register(registry);
    Gauge.builder("switchboard.live.pending.requests", broker.live(), b -> b.pendingRequests())
        .description("Requests waiting for a reply")
        .register(registry);
    FunctionTimer.builder(
            "switchboard.log.fsync",
            broker,
            Broker::fsyncCount,
            Broker::fsyncTotalNanos,
            TimeUnit.NANOSECONDS)
        .description("Fsyncs of log segments (every stream) and their total time")
        .register(registry);
    Gauge.builder("switchboard.log.fsync.max", broker, b -> b.takeFsyncMaxNanos() / 1e9)
        .baseUnit("seconds")
        .description("The longest fsync since the previous scrape")
        .register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
  }

  private static final java.util.Set<String> METHODS =
      java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");

  /** The method tag: a standard method's name, else {@code OTHER} (clients choose the rest). */
  static String method(io.netty.handler.codec.http.HttpMethod m) {
    return METHODS.contains(m.name()) ? m.name() : "OTHER";
  }

  /** Starts timing a request. */
  Timer.Sample start() {
    return Timer.start(registry);
  }

  /** A request was answered: counted and timed by its route template, method and status. */
  void answered(Timer.Sample sample, String route, String method, int status) {
    sample.stop(
        Timer.builder("switchboard.http.requests")
            .description("HTTP requests answered, by route template, method and status")
            .tags("route", route, "method", method, "status", Integer.toString(status))
            .register(registry));
  }

  /** A message published through this front end was acknowledged. */
  void published(int payloadBytes) {
    meters.published(payloadBytes);
  }

  /** A message went out to a client. */
  void delivered(Transport transport, int payloadBytes) {
    deliveries.get(transport).delivered(payloadBytes);
  }

  /**
   * The registry in Prometheus text format (0.0.4), after reading the broker's streams and
   * consumers. Reads the broker: call off the event loops.
   */
  String scrape() {
    List<MultiGauge.Row<?>> messages = new ArrayList<>();
    List<MultiGauge.Row<?>> bytes = new ArrayList<>();
    List<MultiGauge.Row<?>> unacked = new ArrayList<>();
    List<MultiGauge.Row<?>> deadLettered = new ArrayList<>();
    List<MultiGauge.Row<?>> pending = new ArrayList<>();
    for (StreamInfo s : broker.listStreams()) {
      String name = s.config().name();
      Tags stream = Tags.of("stream", name);
      messages.add(MultiGauge.Row.of(stream, s.messages()));
      bytes.add(
          MultiGauge.Row.of(
              stream, s.partitions().stream().mapToLong(StreamInfo.PartitionInfo::bytes).sum()));
      List<ConsumerInfo> consumers;
      try {
        consumers = broker.listConsumers(name);
      } catch (SwitchboardException e) {
        continue; // deleted since it was listed
      }
      for (ConsumerInfo c : consumers) {
        Tags consumer = stream.and("consumer", c.config().name());
        unacked.add(MultiGauge.Row.of(consumer, c.unacknowledged()));
        deadLettered.add(MultiGauge.Row.of(consumer, c.deadLettered()));
        pending.add(MultiGauge.Row.of(consumer, c.pending()));
      }
    }
    streamMessages.register(messages, true);
    streamBytes.register(bytes, true);
    consumerUnacknowledged.register(unacked, true);
    consumerDeadLettered.register(deadLettered, true);
    consumerPending.register(pending, true);
    return registry.scrape();
  }

  @Override
  public void close() {
    gc.close();
    serverMeters.remove(registry);
    registry.close();
  }
}
