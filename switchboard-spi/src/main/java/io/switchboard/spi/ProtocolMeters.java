package io.switchboard.spi;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one front end counts, under names every front end shares (docs/http.md lists them): open
 * connections, messages and payload bytes published and delivered, and bad input by reason — each
 * tagged with the protocol. Counting is a {@link LongAdder} increment, cheap enough for the message
 * path; the registry reads the adders when it is scraped. Thread-safe.
 *
 * <p>Tag values are fixed strings chosen by the front end (transports, reasons), never client
 * input, so the number of series is bounded by the code.
 */
public final class ProtocolMeters {
  /** A per-transport pair of delivery counters, looked up once and kept by the caller. */
  public static final class Delivery {
    private final LongAdder messages = new LongAdder();
    private final LongAdder bytes = new LongAdder();

    /** A message with this many payload bytes went out to a client. */
    public void delivered(int payloadBytes) {
      messages.increment();
      bytes.add(payloadBytes);
    }
  }

  private final MeterRegistry registry;
  private final String protocol;
  private final AtomicInteger connections;
  private final LongAdder publishedMessages = new LongAdder();
  private final LongAdder publishedBytes = new LongAdder();
  private final ConcurrentMap<String, Delivery> deliveries = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, LongAdder> badInput = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, LongAdder> calls = new ConcurrentHashMap<>();

  /**
   * Registers the front end's meters.
   *
   * @param registry usually {@link ServerContext#meters()}
   * @param protocol the {@code protocol} tag: {@code native}, {@code http}, {@code mqtt}
   */
  public ProtocolMeters(MeterRegistry registry, String protocol) {
    this(registry, protocol, new AtomicInteger());
  }

  /**
   * Registers the front end's meters, with a connection count the front end keeps itself.
   *
   * @param connections read by the gauge; {@link #opened()} and {@link #closed()} change it too
   */
  public ProtocolMeters(MeterRegistry registry, String protocol, AtomicInteger connections) {
    this.registry = registry;
    this.protocol = protocol;
    this.connections = connections;
    Gauge.builder("switchboard.connections", connections, AtomicInteger::get)
        .description("Client connections open, by protocol")
        .tag("protocol", protocol)
        .register(registry);
    FunctionCounter.builder("switchboard.published.messages", publishedMessages, LongAdder::sum)
        .description("Messages clients published through this protocol, acknowledged or sent")
        .tag("protocol", protocol)
        .register(registry);
    FunctionCounter.builder("switchboard.published.bytes", publishedBytes, LongAdder::sum)
        .description("Payload bytes of the messages published through this protocol")
        .baseUnit("bytes")
        .tag("protocol", protocol)
        .register(registry);
  }

  /** A connection opened. */
  public void opened() {
    connections.incrementAndGet();
  }

  /** A connection closed. */
  public void closed() {
    connections.decrementAndGet();
  }

  /** Connections open now. */
  public int connections() {
    return connections.get();
  }

  /** A message with this many payload bytes was published by a client. */
  public void published(int payloadBytes) {
    publishedMessages.increment();
    publishedBytes.add(payloadBytes);
  }

  /**
   * The delivery counters of one transport ({@code tcp}, {@code websocket}, {@code sse}, ...),
   * registered on first use.
   */
  public Delivery delivery(String transport) {
    return deliveries.computeIfAbsent(
        transport,
        t -> {
          Delivery d = new Delivery();
          FunctionCounter.builder("switchboard.delivered.messages", d.messages, LongAdder::sum)
              .description("Messages sent to clients, by protocol and transport")
              .tags("protocol", protocol, "transport", t)
              .register(registry);
          FunctionCounter.builder("switchboard.delivered.bytes", d.bytes, LongAdder::sum)
              .description("Payload bytes of the messages sent to clients")
              .baseUnit("bytes")
              .tags("protocol", protocol, "transport", t)
              .register(registry);
          return d;
        });
  }

  /**
   * A call (an RPC: gRPC's {@code service/method}) ended with {@code status} (the protocol's status
   * name, e.g. {@code OK}, {@code INVALID_ARGUMENT}). Both are fixed names: methods the front end
   * serves and the protocol's status codes, never client input, so the series are bounded.
   */
  public void call(String method, String status) {
    calls
        .computeIfAbsent(
            method + ' ' + status,
            k -> {
              LongAdder a = new LongAdder();
              FunctionCounter.builder("switchboard.calls", a, LongAdder::sum)
                  .description("Calls (RPCs) ended, by protocol, method and status")
                  .tags("protocol", protocol, "method", method, "status", status)
                  .register(registry);
              return a;
            })
        .increment();
  }

  /**
   * A client sent something malformed or out of order and got the protocol's reaction (an error
   * code, a refusal, a close). {@code reason} is a fixed snake_case name chosen by the front end.
   */
  public void badInput(String reason) {
    badInput
        .computeIfAbsent(
            reason,
            r -> {
              LongAdder a = new LongAdder();
              FunctionCounter.builder("switchboard.bad.input", a, LongAdder::sum)
                  .description("Malformed or out-of-order client input, by protocol and reason")
                  .tags("protocol", protocol, "reason", r)
                  .register(registry);
              return a;
            })
        .increment();
  }
}
