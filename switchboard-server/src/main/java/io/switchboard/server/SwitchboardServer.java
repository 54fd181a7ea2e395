package io.switchboard.server;

import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.core.Blocking;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.security.SecurityKeys;
import io.switchboard.security.SecurityService;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.server.trace.ServerTelemetry;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.WebSocketProtocols;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.trace.Tracing;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Switchboard process: the broker engine with embedded storage and every front end found on the
 * class path. Thread-safe; {@link #close} may be called from a shutdown hook.
 *
 * <p>Start order: configuration checked as a whole (by the caller, with {@link #configKeys()}),
 * storage opened and recovered, front ends started. Close order is the reverse: front ends stop
 * accepting and close their connections, then the broker finishes queued appends, flushes and
 * closes every file.
 */
public final class SwitchboardServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SwitchboardServer.class);

  private final Broker broker;
  private final List<FrontEnd> frontEnds;
  private final EventLoopGroup acceptors;
  private final EventLoopGroup workers;
  private final Map<String, InetSocketAddress> addresses;
  private final Path dataDir;
  private final SecurityService security;
  private volatile ServerTelemetry telemetry = ServerTelemetry.OFF; // set once, right after start
  private boolean closed;

  private SwitchboardServer(
      Broker broker,
      SecurityService security,
      List<FrontEnd> frontEnds,
      EventLoopGroup acceptors,
      EventLoopGroup workers,
      Map<String, InetSocketAddress> addresses,
      Path dataDir) {
    this.broker = broker;
    this.security = security;
    this.frontEnds = frontEnds;
    this.acceptors = acceptors;
    this.workers = workers;
    this.addresses = Map.copyOf(addresses);
    this.dataDir = dataDir;
  }

  /** The front ends on the class path, in service-loader order. */
  public static List<FrontEnd> discoverFrontEnds() {
    List<FrontEnd> out = new ArrayList<>();
    for (FrontEnd f : ServiceLoader.load(FrontEnd.class)) {
      out.add(f);
    }
    return out;
  }

  /** The server's keys followed by those of the given front ends. */
  public static List<ConfigKey<?>> configKeys(List<FrontEnd> frontEnds) {
    List<ConfigKey<?>> keys = new ArrayList<>(ConfigCatalogue.ALL);
    for (FrontEnd f : frontEnds) {
      for (ConfigKey<?> k : f.configKeys()) {
        if (keys.stream().noneMatch(existing -> existing.name().equals(k.name()))) {
          keys.add(k);
        }
      }
    }
    return keys;
  }

  /**
   * {@code flags} with every listener port the front ends on the class path have ({@code *.port}
   * keys) set to 0 — any free port — unless {@code flags} names it: for tests and embedding, so
   * several servers run side by side. The ports actually bound are in {@link #addresses()}.
   */
  public static Map<String, String> onFreePorts(Map<String, String> flags) {
    Map<String, String> out = new LinkedHashMap<>();
    for (ConfigKey<?> k : configKeys(discoverFrontEnds())) {
      if (k.name().endsWith(".port")) {
        out.put(k.name(), "0");
      }
    }
    out.putAll(flags);
    return out;
  }

  /**
   * Starts a server with every front end on the class path, each listener on a free port unless
   * {@code flags} names one, and the rest of the configuration from {@code flags} and defaults: for
   * tests and embedding.
   *
   * @throws io.switchboard.core.SwitchboardException {@code INVALID_CONFIG} naming every bad key
   */
  public static SwitchboardServer startOnFreePorts(Map<String, String> flags) throws Exception {
    return startOnFreePorts(flags, Clock.SYSTEM);
  }

  /** {@link #startOnFreePorts(Map)} with the broker on {@code clock} (tests). */
  public static SwitchboardServer startOnFreePorts(Map<String, String> flags, Clock clock)
      throws Exception {
    List<FrontEnd> frontEnds = discoverFrontEnds();
    ServerConfig config =
        ServerConfig.resolve(configKeys(frontEnds), Map.of(), Map.of(), onFreePorts(flags));
    return start(config, frontEnds, clock);
  }

  /**
   * Opens storage and starts every front end. On failure, whatever started is closed again.
   *
   * @param frontEnds from {@link #discoverFrontEnds()} (or a test's choice)
   */
  public static SwitchboardServer start(ServerConfig config, List<FrontEnd> frontEnds)
      throws Exception {
    return start(config, frontEnds, Clock.SYSTEM);
  }

  /** {@link #start(ServerConfig, List)} with the broker on {@code clock} (tests, embedding). */
  public static SwitchboardServer start(ServerConfig config, List<FrontEnd> frontEnds, Clock clock)
      throws Exception {
    return start(config, frontEnds, clock, ServerTelemetry.open(config));
  }

  /**
   * {@link #startOnFreePorts(Map)} with spans through {@code otel} (tests with an in-memory
   * exporter, embedding), whatever {@code otel.exporter.otlp.endpoint} says.
   */
  public static SwitchboardServer startOnFreePorts(
      Map<String, String> flags, io.opentelemetry.api.OpenTelemetry otel) throws Exception {
    List<FrontEnd> frontEnds = discoverFrontEnds();
    ServerConfig config =
        ServerConfig.resolve(configKeys(frontEnds), Map.of(), Map.of(), onFreePorts(flags));
    return start(config, frontEnds, Clock.SYSTEM, ServerTelemetry.using(otel));
  }

  private static SwitchboardServer start(
      ServerConfig config, List<FrontEnd> frontEnds, Clock clock, ServerTelemetry telemetry)
      throws Exception {
    try {
      SwitchboardServer server = startWith(config, frontEnds, clock, telemetry.tracing());
      server.telemetry = telemetry;
      return server;
    } catch (Exception | Error e) {
      telemetry.close();
      throw e;
    }
  }

  private static SwitchboardServer startWith(
      ServerConfig config, List<FrontEnd> frontEnds, Clock clock, Tracing tracing)
      throws Exception {
    checkExposure(config);
    Path dataDir = Path.of(config.get(ConfigCatalogue.DATA_DIR)).toAbsolutePath();
    SecurityService security = SecurityService.open(dataDir, config, clock);
    int runners = config.get(ConfigCatalogue.BROKER_RUNNER_THREADS);
    Broker broker;
    try {
      broker =
          Broker.open(
              new BrokerConfig(
                  dataDir,
                  LiveBusConfig.DEFAULTS.withQueueRouting(
                      io.switchboard.broker.live.QueueRouting.valueOf(
                          config
                              .get(ConfigCatalogue.BROKER_QUEUE_ROUTING)
                              .replace('-', '_')
                              .toUpperCase(java.util.Locale.ROOT))),
                  runners == 0 ? BrokerConfig.DEFAULT_RUNNER_THREADS : runners,
                  config.get(ConfigCatalogue.BROKER_PARTITION_QUEUE),
                  config.get(ConfigCatalogue.BROKER_MAINTENANCE_PERIOD_MS),
                  config.get(ConfigCatalogue.BROKER_MAX_STREAM_SUBJECTS)),
              clock);
    } catch (RuntimeException | Error e) {
      security.close();
      throw e;
    }
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup acceptors =
        new MultiThreadIoEventLoopGroup(
            1,
            nonBlocking("sb-accept"),
            epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    EventLoopGroup workers =
        new MultiThreadIoEventLoopGroup(
            0,
            nonBlocking("sb-loop"),
            epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    String serverId = UUID.randomUUID().toString();
    CompositeMeterRegistry meters = new CompositeMeterRegistry();
    for (FrontEnd f : frontEnds) {
      f.meterRegistry(config).ifPresent(meters::add);
    }
    security.bindMeters(meters);
    ServerContext context =
        new ServerContext(
            broker,
            config,
            acceptors,
            workers,
            serverId,
            new WebSocketProtocols(),
            meters,
            security,
            tracing);
    Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
    List<FrontEnd> started = new ArrayList<>();
    try {
      for (FrontEnd f : frontEnds) {
        Optional<InetSocketAddress> at = f.start(context);
        started.add(f);
        at.ifPresent(a -> addresses.put(f.name(), a));
        f.tlsAddress().ifPresent(a -> addresses.put(f.name() + "-tls", a));
      }
    } catch (Exception | Error e) {
      new SwitchboardServer(broker, security, started, acceptors, workers, addresses, dataDir)
          .close();
      throw e;
    }
    SwitchboardServer server =
        new SwitchboardServer(broker, security, started, acceptors, workers, addresses, dataDir);
    LOG.info(
        "Switchboard {} started ({} transport, heap max {} MiB); data in {}",
        serverId,
        epoll ? "epoll" : "nio",
        Runtime.getRuntime().maxMemory() >> 20,
        dataDir);
    addresses.forEach(
        (name, a) -> LOG.info("{} listening on {}:{}", name, a.getHostString(), a.getPort()));
    LOG.info(
        "security: authentication {}, rules default {}, {} user(s), {} rule(s), TLS {}",
        security.authRequired() ? "required" : "optional",
        config.get(SecurityKeys.ACL_DEFAULT),
        security.users().size(),
        security.rules().size(),
        security.tls().map(t -> "on (" + t.provider() + ")").orElse("off"));
    if (config.get(SecurityKeys.INSECURE) && !security.authRequired()) {
      LOG.warn(
          "SB-SERVER-4002 insecure: listening on {} without auth.required; anyone who reaches a"
              + " port may publish, read and delete",
          config.get(ConfigCatalogue.BIND));
    }
    return server;
  }

  /**
   * Refuses a bind address other than loopback without {@code auth.required=true}, unless {@code
   * insecure} (the command line's {@code --insecure}) accepts it.
   *
   * @throws SwitchboardException {@link ErrorCode#INSECURE_BIND}
   */
  static void checkExposure(ServerConfig config) {
    if (config.get(SecurityKeys.AUTH_REQUIRED) || config.get(SecurityKeys.INSECURE)) {
      return;
    }
    String bind = config.get(ConfigCatalogue.BIND);
    boolean loopback;
    try {
      InetAddress[] all = InetAddress.getAllByName(bind);
      loopback = all.length > 0;
      for (InetAddress a : all) {
        loopback &= a.isLoopbackAddress();
      }
    } catch (UnknownHostException e) {
      loopback = false;
    }
    if (!loopback) {
      throw SwitchboardException.of(ErrorCode.INSECURE_BIND, bind);
    }
  }

  /** Event-loop threads, marked as threads that must never block (see {@link Blocking}). */
  private static java.util.concurrent.ThreadFactory nonBlocking(String name) {
    io.netty.util.concurrent.DefaultThreadFactory threads =
        new io.netty.util.concurrent.DefaultThreadFactory(name, true);
    return r ->
        threads.newThread(
            () -> {
              Blocking.markNonBlocking();
              r.run();
            });
  }

  /** Users, rules and the decision point (tests, embedding). */
  public SecurityService security() {
    return security;
  }

  /** The broker engine (tests, embedding). */
  public Broker broker() {
    return broker;
  }

  /** Where each running front end listens, by name; TLS listeners as {@code <name>-tls}. */
  public Map<String, InetSocketAddress> addresses() {
    return addresses;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Stops front ends, then closes the broker cleanly. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (FrontEnd f : frontEnds) {
      try {
        f.close();
      } catch (RuntimeException e) {
        LOG.warn("SB-SERVER-4001 front end {} did not close cleanly", f.name(), e);
      }
    }
    acceptors.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    broker.close();
    security.close();
    telemetry.close();
    LOG.info("Switchboard stopped; storage closed cleanly");
  }
}
