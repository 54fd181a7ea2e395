package io.switchboard.http;

import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.broker.Broker;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What every connection of the front end shares: settings, the routes, the counters that enforce
 * connection limits. Thread-safe (immutable routes, atomic counters).
 *
 * @param broker the engine
 * @param clock stamps messages published here
 * @param settings the front end's bounds
 * @param routes REST routes
 * @param streams event-stream routes (GET only)
 * @param upgrades protocol-upgrade routes (GET only): the WebSocket
 * @param rpc JSON-RPC over the live bus, for the REST route and WebSocket connections
 * @param pushes deliveries pushed over consumer event streams, awaiting acks
 * @param connections HTTP connections open now
 * @param sseConnections event streams open now
 * @param wsConnections WebSocket connections open now
 * @param failedRequests requests answered with a problem, since start
 * @param metrics what {@code /metrics} serves
 * @param mounts other front ends' protocols over WebSocket (see {@link MountedWebSocket})
 * @param security authentication and the decision point ({@link HttpAccess})
 * @param tracing {@code deliver} spans of SSE and WebSocket deliveries ({@code OFF}: none)
 */
record HttpService(
    Broker broker,
    Clock clock,
    HttpConfig.Settings settings,
    Router<Handler> routes,
    Router<EventStream.Opener> streams,
    Router<String> upgrades,
    JsonRpc rpc,
    PushRegistry pushes,
    AtomicInteger connections,
    AtomicInteger sseConnections,
    AtomicInteger wsConnections,
    LongAdder failedRequests,
    HttpMetrics metrics,
    io.switchboard.spi.WebSocketProtocols mounts,
    io.switchboard.spi.security.Security security,
    io.switchboard.spi.trace.Tracing tracing) {

  /**
   * The REST route for a request.
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_NOT_FOUND}, or {@link
   *     ErrorCode#HTTP_METHOD_NOT_ALLOWED} when some route (event streams included) takes the path
   */
  Router.Match<Handler> route(HttpMethod method, String path) {
    Router.Match<Handler> m = routes.find(method, path);
    if (m != null) {
      return m;
    }
    Set<String> allowed = allowed(path);
    if (allowed.isEmpty()) {
      throw SwitchboardException.of(ErrorCode.HTTP_NOT_FOUND, path);
    }
    throw SwitchboardException.of(
        ErrorCode.HTTP_METHOD_NOT_ALLOWED, method, path, String.join(", ", allowed));
  }

  /** The methods any route accepts for {@code path} (for 405's Allow header). */
  Set<String> allowed(String path) {
    Set<String> out = new LinkedHashSet<>(routes.allowed(path));
    if (!streams.allowed(path).isEmpty() || !upgrades.allowed(path).isEmpty()) {
      out.add(HttpMethod.GET.name());
    }
    return out;
  }
}
