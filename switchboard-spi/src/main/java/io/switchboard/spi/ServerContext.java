package io.switchboard.spi;

import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.switchboard.broker.Broker;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.security.Security;
import io.switchboard.spi.trace.Tracing;

/**
 * What a front end gets from the server: the broker, the resolved configuration, the shared network
 * event loops, the server's id, the registry front ends count into, and security. Immutable (the
 * registry is thread-safe).
 *
 * @param broker the engine every request goes to
 * @param config resolved and checked settings
 * @param acceptors the event loops that accept connections
 * @param workers the event loops connections run on
 * @param serverId this server's id, for handshakes and logs
 * @param webSockets protocols mounted over WebSocket on the HTTP port
 * @param meters where every front end registers its meters ({@link ProtocolMeters}); the registry
 *     of a front end that exposes metrics (HTTP's {@code /metrics}, {@link FrontEnd#meterRegistry})
 *     is one of its children from the start, so it sees every meter
 * @param security authentication, the authorization decision point every front end calls, user and
 *     rule administration, and TLS material ({@link Security#OPEN} when the server runs without)
 * @param tracing the server's spans ({@link Tracing#OFF} unless {@code otel.exporter.otlp.endpoint}
 *     is set): every front end starts publish, request and deliver spans through it
 */
public record ServerContext(
    Broker broker,
    ServerConfig config,
    EventLoopGroup acceptors,
    EventLoopGroup workers,
    String serverId,
    WebSocketProtocols webSockets,
    CompositeMeterRegistry meters,
    Security security,
    Tracing tracing) {

  /** A context without tracing ({@link Tracing#OFF}). */
  public ServerContext(
      Broker broker,
      ServerConfig config,
      EventLoopGroup acceptors,
      EventLoopGroup workers,
      String serverId,
      WebSocketProtocols webSockets,
      CompositeMeterRegistry meters,
      Security security) {
    this(broker, config, acceptors, workers, serverId, webSockets, meters, security, Tracing.OFF);
  }

  /** A context without security ({@link Security#OPEN}). */
  public ServerContext(
      Broker broker,
      ServerConfig config,
      EventLoopGroup acceptors,
      EventLoopGroup workers,
      String serverId,
      WebSocketProtocols webSockets,
      CompositeMeterRegistry meters) {
    this(broker, config, acceptors, workers, serverId, webSockets, meters, Security.OPEN);
  }
}
