package io.switchboard.server;

import io.netty.channel.EventLoopGroup;
import io.switchboard.broker.Broker;
import io.switchboard.server.config.ServerConfig;

/**
 * What a front end gets from the server: the broker, the resolved configuration, the shared network
 * event loops, and the server's id. Immutable.
 *
 * @param broker the engine every request goes to
 * @param config resolved and checked settings
 * @param acceptors the event loops that accept connections
 * @param workers the event loops connections run on
 * @param serverId this server's id, for handshakes and logs
 * @param webSockets protocols mounted over WebSocket on the HTTP port
 */
public record ServerContext(
    Broker broker,
    ServerConfig config,
    EventLoopGroup acceptors,
    EventLoopGroup workers,
    String serverId,
    WebSocketProtocols webSockets) {}
