package io.switchboard.spi;

import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.switchboard.broker.Broker;
import io.switchboard.spi.config.ServerConfig;

/**
 * What a front end gets from the server: the broker, the resolved configuration, the shared network
 * event loops, the server's id, and the registry front ends count into. Immutable (the registry is
 * thread-safe).
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
 */
public record ServerContext(
    Broker broker,
    ServerConfig config,
    EventLoopGroup acceptors,
    EventLoopGroup workers,
    String serverId,
    WebSocketProtocols webSockets,
    CompositeMeterRegistry meters) {}
