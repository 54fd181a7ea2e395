package io.switchboard.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.switchboard.core.Clock;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.Listeners;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The HTTP front end (docs/http.md): JSON REST for publish, request/reply, the event store,
 * streams, consumers, fetch and acks; JSON-RPC 2.0; Server-Sent Events and WebSocket for live
 * subscriptions and durable consumers; {@code /healthz} and {@code /readyz}. Netty's HTTP/1.1
 * codec, one pipeline per connection:
 *
 * <pre>
 * guard (slow-loris timer) → codec → idle timer → aggregator (body limit, 413)
 *   → flow control (one request at a time) → connection handler (routes)
 * </pre>
 *
 * <p>Started and closed by the server's thread. Blocking broker calls (administration, reads from
 * disk) run on virtual threads, never on an event loop; their number is bounded by the connection
 * limit, since a connection has at most one request in progress.
 */
public final class HttpFrontEnd implements FrontEnd {
  /** How long close waits for blocking work in progress to finish. */
  static final long CLOSE_GRACE_MS = 2_000;

  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger sseConnections = new AtomicInteger();
  private final AtomicInteger wsConnections = new AtomicInteger();
  private final LongAdder failedRequests = new LongAdder();
  private volatile boolean ready;
  private ChannelGroup channels;
  private Channel listener;
  private Channel tlsListener;
  private ExecutorService blocking;
  private HttpMetrics metrics;
  private HttpService service;

  @Override
  public String name() {
    return "http";
  }

  @Override
  public List<ConfigKey<?>> configKeys() {
    return HttpConfig.ALL;
  }

  /**
   * What {@code /metrics} scrapes; made before any front end starts (see {@link #meterRegistry}).
   */
  private PrometheusMeterRegistry prometheus;

  @Override
  public Optional<MeterRegistry> meterRegistry(ServerConfig config) {
    if (HttpConfig.Settings.of(config).port() < 0 && config.get(HttpConfig.TLS_PORT) < 0) {
      return Optional.empty();
    }
    prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    return Optional.of(prometheus);
  }

  @Override
  public Optional<InetSocketAddress> start(ServerContext context) throws InterruptedException {
    HttpConfig.Settings settings = HttpConfig.Settings.of(context.config());
    if (settings.port() < 0 && context.config().get(HttpConfig.TLS_PORT) < 0) {
      return Optional.empty();
    }
    blocking =
        Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("sb-http-work-", 0).factory());
    metrics =
        new HttpMetrics(
            context.broker(),
            java.util.Objects.requireNonNull(prometheus, "meterRegistry(config) is asked first"),
            context.meters(),
            connections,
            sseConnections,
            wsConnections,
            failedRequests);
    PushRegistry pushes = new PushRegistry();
    Router<Handler> routes = new Router<>();
    new AdminRoutes(context.broker(), pushes, () -> ready, metrics, context.tracing())
        .register(routes);
    new SecurityRoutes(context.security().admin(), blocking).register(routes);
    new SchemaRegistryRoutes(context.broker().schemas(), blocking).register(routes);
    JsonRpc rpc = new JsonRpc(context.broker(), Clock.SYSTEM, metrics);
    new MessagingRoutes(context.broker(), Clock.SYSTEM, rpc, metrics, context.tracing())
        .register(routes);
    Router<String> upgrades =
        new Router<String>().add(HttpMethod.GET, WebSocketHandler.PATH, "websocket");
    Router<EventStream.Opener> streams = new Router<>();
    HttpService[] self = new HttpService[1];
    streams
        .add(
            HttpMethod.GET,
            "/v1/subjects/{pattern}/events",
            (ctx, x) -> LiveEventStream.open(ctx, x, self[0]))
        .add(
            HttpMethod.GET,
            "/v1/streams/{stream}/consumers/{consumer}/events",
            (ctx, x) -> ConsumerEventStream.open(ctx, x, self[0]))
        .add(
            HttpMethod.GET,
            "/v1/streams/{stream}/events",
            (ctx, x) -> StreamEventStream.open(ctx, x, self[0]));
    StreamFollower.deleteLeftovers(context.broker());
    HttpService service =
        new HttpService(
            context.broker(),
            Clock.SYSTEM,
            settings,
            routes,
            streams,
            upgrades,
            rpc,
            pushes,
            connections,
            sseConnections,
            wsConnections,
            failedRequests,
            metrics,
            context.webSockets(),
            context.security(),
            context.tracing());
    self[0] = service;
    this.service = service;
    channels = new DefaultChannelGroup("http", GlobalEventExecutor.INSTANCE);
    java.util.function.Consumer<io.netty.channel.socket.SocketChannel> pipeline =
        ch -> {
          channels.add(ch);
          HttpConnectionHandler handler = new HttpConnectionHandler(service);
          RequestGuard guard = new RequestGuard(settings.headerTimeoutMs(), handler);
          handler.guard(guard);
          ch.pipeline()
              .addLast("guard", guard)
              .addLast("codec", new HttpServerCodec())
              .addLast(
                  "idle",
                  new IdleStateHandler(0, 0, settings.idleTimeoutMs(), TimeUnit.MILLISECONDS))
              .addLast("aggregator", new BodyLimitAggregator(settings.maxBodyBytes(), handler))
              .addLast("flow", new FlowControlHandler())
              .addLast("handler", handler);
        };
    // One request at a time: the handler asks for the next read when it has answered.
    java.util.function.Consumer<io.netty.bootstrap.ServerBootstrap> oneAtATime =
        options -> options.childOption(ChannelOption.AUTO_READ, false);
    tlsListener = Listeners.tls(context, HttpConfig.TLS_PORT, oneAtATime, pipeline).orElse(null);
    ready = true;
    if (settings.port() < 0) {
      return Optional.empty();
    }
    listener = Listeners.tcp(context, settings.port(), oneAtATime, pipeline);
    return Optional.of((InetSocketAddress) listener.localAddress());
  }

  /** HTTP connections open now. */
  public int connectionCount() {
    return connections.get();
  }

  /** Event streams open now. */
  public int eventStreamCount() {
    return sseConnections.get();
  }

  /** Every route served (REST, event streams, the WebSocket upgrade), once started. */
  List<Router.Template> routes() {
    List<Router.Template> all = new java.util.ArrayList<>(service.routes().templates());
    all.addAll(service.streams().templates());
    all.addAll(service.upgrades().templates());
    return all;
  }

  /** WebSocket connections open now. */
  public int webSocketCount() {
    return wsConnections.get();
  }

  /** Requests answered with a problem document since start. */
  public long failedRequestCount() {
    return failedRequests.sum();
  }

  @Override
  public Optional<InetSocketAddress> tlsAddress() {
    return Optional.ofNullable(tlsListener).map(c -> (InetSocketAddress) c.localAddress());
  }

  @Override
  public void close() {
    ready = false;
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    if (tlsListener != null) {
      tlsListener.close().syncUninterruptibly();
    }
    if (channels != null) {
      channels.close().awaitUninterruptibly();
    }
    if (blocking != null) {
      blocking.shutdown();
      try {
        blocking.awaitTermination(CLOSE_GRACE_MS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (metrics != null) {
      metrics.close();
    }
  }
}
