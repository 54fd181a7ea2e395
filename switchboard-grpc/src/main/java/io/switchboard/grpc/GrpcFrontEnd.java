package io.switchboard.grpc;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.config.CommonKeys;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.security.TlsContexts;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC listener (docs/grpc.md): grpc-java's Netty server on the server's own event loops, with
 * the {@code switchboard.v1} services, {@code grpc.health.v1.Health} and server reflection v1 and
 * v1alpha. Handlers run on the connection's event loop and never block: every broker call is
 * asynchronous, and the calls that may block go through {@code Broker.offload}. Started and closed
 * by the server's thread.
 */
public final class GrpcFrontEnd implements FrontEnd {
  public static final ConfigKey<Integer> PORT =
      new ConfigKey<>(
          "grpc.port",
          "7410",
          "Port of the gRPC listener (HTTP/2); 0 picks a free port, -1 turns it off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> TLS_PORT =
      new ConfigKey<>(
          "grpc.tls-port",
          "-1",
          "Port of the gRPC listener over TLS (ALPN h2) with the server's tls.cert and tls.key; 0"
              + " picks a free port, -1 (the default) turns it off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> MAX_MESSAGE_BYTES =
      new ConfigKey<>(
          "grpc.max-message-bytes",
          String.valueOf(GrpcSettings.DEFAULTS.maxMessageBytes()),
          "Largest gRPC request message; a larger one fails its call with RESOURCE_EXHAUSTED"
              + " before it is buffered.",
          ConfigKey.intIn(1024, 64 << 20));

  public static final ConfigKey<Integer> MAX_CONCURRENT_STREAMS =
      new ConfigKey<>(
          "grpc.max-concurrent-streams",
          String.valueOf(GrpcSettings.DEFAULTS.maxConcurrentStreams()),
          "Calls one gRPC connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_IN_FLIGHT =
      new ConfigKey<>(
          "grpc.max-in-flight",
          String.valueOf(GrpcSettings.DEFAULTS.maxInFlight()),
          "Publishes one PublishStream may have waiting for storage (past it the stream is not"
              + " read until acks go out), and requests one Serve stream may hold unanswered.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_PENDING =
      new ConfigKey<>(
          "grpc.max-pending-messages",
          String.valueOf(GrpcSettings.DEFAULTS.maxPending()),
          "Messages a Subscribe stream holds for a client that does not read; past it messages"
              + " are dropped (live delivery is at most once) and the client is told how many.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_CREDIT =
      new ConfigKey<>(
          "grpc.max-credit",
          String.valueOf(GrpcSettings.DEFAULTS.maxCredit()),
          "Most unsettled deliveries one Consume stream may ask for.",
          ConfigKey.intIn(1, 100_000));

  public static final ConfigKey<Long> REQUEST_TIMEOUT_MS =
      new ConfigKey<>(
          "grpc.request-timeout-ms",
          String.valueOf(GrpcSettings.DEFAULTS.requestTimeoutMs()),
          "How long a Request waits for a reply when neither its deadline nor timeout_ms says.",
          ConfigKey.longIn(1, 3_600_000));

  public static final ConfigKey<Long> KEEPALIVE_MS =
      new ConfigKey<>(
          "grpc.keepalive-ms",
          "60000",
          "The server pings a connection idle this long, and closes it when the ping is not"
              + " answered within 20 s.",
          ConfigKey.longIn(1000, 86_400_000));

  public static final ConfigKey<Long> PERMIT_KEEPALIVE_MS =
      new ConfigKey<>(
          "grpc.permit-keepalive-ms",
          "10000",
          "Shortest interval between a client's keep-alive pings; a client pinging more often is"
              + " sent GOAWAY (ENHANCE_YOUR_CALM).",
          ConfigKey.longIn(1, 86_400_000));

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GrpcFrontEnd.class);

  private Server server;
  private Server tlsServer;
  private HealthStatusManager health;

  @Override
  public String name() {
    return "grpc";
  }

  @Override
  public List<ConfigKey<?>> configKeys() {
    return List.of(
        PORT,
        TLS_PORT,
        MAX_MESSAGE_BYTES,
        MAX_CONCURRENT_STREAMS,
        MAX_IN_FLIGHT,
        MAX_PENDING,
        MAX_CREDIT,
        REQUEST_TIMEOUT_MS,
        KEEPALIVE_MS,
        PERMIT_KEEPALIVE_MS);
  }

  @Override
  public Optional<InetSocketAddress> start(ServerContext context) throws Exception {
    ServerConfig config = context.config();
    int port = config.get(PORT);
    if (port < 0) {
      return Optional.empty();
    }
    GrpcSettings settings =
        new GrpcSettings(
            config.get(MAX_MESSAGE_BYTES),
            config.get(MAX_CONCURRENT_STREAMS),
            config.get(MAX_IN_FLIGHT),
            config.get(MAX_PENDING),
            config.get(MAX_CREDIT),
            config.get(REQUEST_TIMEOUT_MS));
    Clock clock = Clock.SYSTEM;
    GrpcAuth auth = new GrpcAuth(context.security());
    GrpcMeters meters =
        new GrpcMeters(
            new io.switchboard.spi.ProtocolMeters(context.meters(), GrpcMeters.PROTOCOL));
    health = new HealthStatusManager();
    server = build(context, settings, clock, auth, meters, port, null).start();
    int tlsPort = config.get(TLS_PORT);
    if (tlsPort >= 0) {
      TlsContexts tls =
          context
              .security()
              .tls()
              .orElseThrow(
                  () ->
                      SwitchboardException.of(
                          ErrorCode.INVALID_CONFIG,
                          TLS_PORT.name() + " is set but tls.cert and tls.key are not"));
      try {
        // Each new connection takes the context of the files as they are now (reloaded when they
        // change), not the one of the server's start.
        tlsServer =
            build(
                    context,
                    settings,
                    clock,
                    auth,
                    meters,
                    tlsPort,
                    new CurrentSslContext(tls::currentHttp2))
                .start();
      } catch (java.io.IOException | RuntimeException e) {
        stop(server);
        throw e;
      }
      LOG.info("grpc (TLS) listening on {}", tlsServer.getListenSockets().get(0));
    }
    health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    for (String service :
        List.of(
            "switchboard.v1.Publisher",
            "switchboard.v1.Subscriber",
            "switchboard.v1.Requests",
            "switchboard.v1.Streams",
            "switchboard.v1.EventStore",
            "switchboard.v1.Admin")) {
      health.setStatus(service, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    }
    InetSocketAddress bound = (InetSocketAddress) server.getListenSockets().get(0);
    LOG.info("grpc listening on {}", bound);
    return Optional.of(bound);
  }

  /** A server on {@code port} with every service; over TLS when {@code ssl} is not null. */
  private Server build(
      ServerContext context,
      GrpcSettings settings,
      Clock clock,
      GrpcAuth auth,
      GrpcMeters meters,
      int port,
      io.netty.handler.ssl.SslContext ssl) {
    ServerConfig config = context.config();
    GrpcTrace trace = new GrpcTrace(context.tracing()); // trace context from metadata
    NettyServerBuilder b =
        NettyServerBuilder.forAddress(new InetSocketAddress(config.get(CommonKeys.BIND), port))
            .bossEventLoopGroup(context.acceptors())
            .workerEventLoopGroup(context.workers())
            .channelType(
                Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
            // As every front end's listener (Listeners.tcp): small acks are not held back by Nagle.
            .withChildOption(io.netty.channel.ChannelOption.TCP_NODELAY, true)
            // Handlers run on the connection's event loop; they never block (class comment).
            .directExecutor()
            .maxInboundMessageSize(settings.maxMessageBytes())
            .maxInboundMetadataSize(64 * 1024)
            .maxConcurrentCallsPerConnection(settings.maxConcurrentStreams())
            .keepAliveTime(config.get(KEEPALIVE_MS), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(20, TimeUnit.SECONDS)
            .permitKeepAliveTime(config.get(PERMIT_KEEPALIVE_MS), TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(true)
            // quota per connection, and the connections meter
            .addTransportFilter(new GrpcConnection.Filter(meters.meters()))
            .intercept(meters) // every call, health and reflection too
            .addService(
                ServerInterceptors.intercept(
                    new PublisherService(context.broker(), clock, settings, meters.meters()),
                    auth,
                    trace))
            .addService(
                ServerInterceptors.intercept(
                    new SubscriberService(context.broker(), settings), auth, trace))
            .addService(
                ServerInterceptors.intercept(
                    new RequestsService(context.broker(), clock, settings), auth, trace))
            .addService(
                ServerInterceptors.intercept(new StreamsService(context.broker()), auth, trace))
            .addService(
                ServerInterceptors.intercept(
                    new EventStoreService(context.broker(), clock, meters.meters()), auth))
            // Admin calls are charged to the request rate (the quota interceptor runs after auth).
            .addService(
                ServerInterceptors.intercept(
                    new AdminService(context.broker()), GrpcQuota.REQUESTS, auth))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .addService(reflectionV1alpha());
    if (ssl != null) {
      b.sslContext(ssl);
    }
    return b.build();
  }

  /** v1alpha is deprecated in grpc-java, but evans and older grpcurl speak only it. */
  @SuppressWarnings("deprecation")
  private static io.grpc.BindableService reflectionV1alpha() {
    return ProtoReflectionService.newInstance();
  }

  @Override
  public Optional<InetSocketAddress> tlsAddress() {
    return tlsServer == null
        ? Optional.empty()
        : Optional.of((InetSocketAddress) tlsServer.getListenSockets().get(0));
  }

  @Override
  public void close() {
    stop(tlsServer);
    if (health != null) {
      health.enterTerminalState(); // Watch streams see NOT_SERVING before the connections go
    }
    stop(server);
  }

  private static void stop(Server s) {
    if (s == null) {
      return;
    }
    s.shutdown();
    try {
      if (!s.awaitTermination(2, TimeUnit.SECONDS)) {
        s.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      s.shutdownNow();
    }
  }
}
