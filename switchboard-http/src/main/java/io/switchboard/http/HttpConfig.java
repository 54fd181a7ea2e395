package io.switchboard.http;

import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.util.List;

/**
 * The HTTP front end's configuration keys (documented in {@code docs/http.md}) and the settings
 * resolved from them. Immutable, thread-safe.
 */
public final class HttpConfig {
  private HttpConfig() {}

  public static final ConfigKey<Integer> PORT =
      new ConfigKey<>(
          "http.port",
          "7480",
          "Port of the HTTP front end (REST, JSON-RPC, Server-Sent Events, WebSocket, health,"
              + " metrics); 0 picks a free port,"
              + " -1 turns the listener off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> TLS_PORT =
      new ConfigKey<>(
          "http.tls-port",
          "-1",
          "Port of HTTPS (and WSS) with the server's TLS material (tls.cert, tls.key); -1 (the"
              + " default) turns it off, 0 picks a free port. Set http.port to -1 for HTTPS only.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> MAX_BODY_BYTES =
      new ConfigKey<>(
          "http.max-body-bytes",
          "8388608",
          "Largest request body (8 MiB: a batch of default-sized messages, as the native frame"
              + " limit). A larger declared Content-Length is refused with 413 before any of the"
              + " body is buffered.",
          ConfigKey.intIn(1024, 64 << 20));

  public static final ConfigKey<Integer> MAX_CONNECTIONS =
      new ConfigKey<>(
          "http.max-connections",
          "10000",
          "HTTP connections open at once, event streams included; past it a new one is answered"
              + " 503 TOO_MANY_CONNECTIONS and closed. Bounds file descriptors and memory.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Long> IDLE_TIMEOUT_MS =
      new ConfigKey<>(
          "http.idle-timeout-ms",
          "60000",
          "A keep-alive connection with no request in progress and no traffic for this long is"
              + " closed, so idle clients do not hold connection slots (event streams send"
              + " heartbeats and long polls count as in progress).",
          ConfigKey.longIn(1000, 3_600_000));

  public static final ConfigKey<Long> HEADER_TIMEOUT_MS =
      new ConfigKey<>(
          "http.header-timeout-ms",
          "10000",
          "A request must arrive in full (headers and body) within this time of its first byte;"
              + " otherwise 408 and the connection is closed. Defeats slow-loris clients that"
              + " trickle bytes to hold a connection.",
          ConfigKey.longIn(100, 600_000));

  public static final ConfigKey<Integer> MAX_SSE_CONNECTIONS =
      new ConfigKey<>(
          "http.max-sse-connections",
          "10000",
          "Server-Sent Event streams open at once; past it a new one is answered 503"
              + " TOO_MANY_CONNECTIONS. Each holds a live subscription or a push consumer.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Long> SSE_HEARTBEAT_MS =
      new ConfigKey<>(
          "http.sse-heartbeat-ms",
          "15000",
          "Interval of the comment line an idle event stream sends; under the 30 to 60 s after"
              + " which proxies commonly close silent connections.",
          ConfigKey.longIn(100, 600_000));

  public static final ConfigKey<Integer> SSE_MAX_PENDING_BYTES =
      new ConfigKey<>(
          "http.sse-max-pending-bytes",
          "1048576",
          "Bytes waiting to be written to one event stream (1 MiB); a reader that falls this far"
              + " behind gets a final SLOW_CONSUMER event and is disconnected, so a slow browser"
              + " costs the server at most this much.",
          ConfigKey.intIn(16 * 1024, 1 << 30));

  public static final ConfigKey<Integer> MAX_WS_CONNECTIONS =
      new ConfigKey<>(
          "http.max-ws-connections",
          "10000",
          "WebSocket connections open at once; past it an upgrade is answered 503"
              + " TOO_MANY_CONNECTIONS. Each holds its subscriptions and a bounded send buffer.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> WS_MAX_SUBSCRIPTIONS =
      new ConfigKey<>(
          "http.ws-max-subscriptions",
          "1000",
          "Live subscriptions and consumer feeds one WebSocket connection may hold; past it"
              + " subscribe answers TOO_MANY_SUBSCRIPTIONS. Bounds the subscription index and the"
              + " push threads a single browser can grow.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> WS_MAX_PENDING_BYTES =
      new ConfigKey<>(
          "http.ws-max-pending-bytes",
          "1048576",
          "Bytes waiting to be written to one WebSocket connection (1 MiB); a reader that falls"
              + " this far behind is sent a close frame (1008, SLOW_CONSUMER) and disconnected, so"
              + " a slow browser costs the server at most this much.",
          ConfigKey.intIn(16 * 1024, 1 << 30));

  public static final ConfigKey<List<String>> CORS_ORIGINS =
      new ConfigKey<>(
          "http.cors-origins",
          "",
          "Origins whose web pages may call the HTTP front end from the browser (CORS), comma"
              + " separated, e.g. https://app.example.com; * allows any origin. Empty (the"
              + " default): no cross-origin access. WebSocket upgrades from other origins are"
              + " refused the same way.",
          HttpConfig::origins);

  public static final ConfigKey<List<String>> ALLOWED_HOSTS =
      new ConfigKey<>(
          "http.allowed-hosts",
          "",
          "Host names requests may address, comma-separated (* for any). Empty: on a loopback"
              + " bind, IP literals and single-label names (localhost) only, so a page whose"
              + " domain was rebound to 127.0.0.1 cannot reach the server (DNS rebinding); on"
              + " other binds, any.",
          text ->
              java.util.Arrays.stream(text.split(","))
                  .map(String::trim)
                  .filter(h -> !h.isEmpty())
                  .map(h -> h.toLowerCase(java.util.Locale.ROOT))
                  .toList());

  /** Every key, in documentation order. */
  public static final List<ConfigKey<?>> ALL =
      List.of(
          PORT,
          TLS_PORT,
          MAX_BODY_BYTES,
          MAX_CONNECTIONS,
          IDLE_TIMEOUT_MS,
          HEADER_TIMEOUT_MS,
          MAX_SSE_CONNECTIONS,
          SSE_HEARTBEAT_MS,
          SSE_MAX_PENDING_BYTES,
          MAX_WS_CONNECTIONS,
          WS_MAX_SUBSCRIPTIONS,
          WS_MAX_PENDING_BYTES,
          CORS_ORIGINS,
          ALLOWED_HOSTS);

  /**
   * The front end's bounds, resolved. Immutable.
   *
   * @param port the port; -1 off, 0 any
   * @param maxBodyBytes largest request body
   * @param maxConnections connections open at once
   * @param idleTimeoutMs idle keep-alive connections are closed after this
   * @param headerTimeoutMs a request must arrive in full within this of its first byte
   * @param maxSseConnections event streams open at once
   * @param sseHeartbeatMs heartbeat interval of an event stream
   * @param sseMaxPendingBytes bytes queued for one event stream before it is cut off
   * @param maxWsConnections WebSocket connections open at once
   * @param wsMaxSubscriptions subscriptions per WebSocket connection
   * @param wsMaxPendingBytes bytes queued for one WebSocket connection before it is cut off
   * @param corsOrigins origins allowed cross-origin access ({@code *}: any); empty for none
   */
  public record Settings(
      int port,
      int maxBodyBytes,
      int maxConnections,
      long idleTimeoutMs,
      long headerTimeoutMs,
      int maxSseConnections,
      long sseHeartbeatMs,
      int sseMaxPendingBytes,
      int maxWsConnections,
      int wsMaxSubscriptions,
      int wsMaxPendingBytes,
      List<String> corsOrigins,
      List<String> allowedHosts,
      boolean loopbackBind) {

    public Settings {
      corsOrigins = List.copyOf(corsOrigins);
      allowedHosts = List.copyOf(allowedHosts);
    }

    /**
     * Whether a request's Host header (name and optional port) names this server: see {@link
     * #ALLOWED_HOSTS}. A request without Host (HTTP/1.0) is let through.
     */
    public boolean allowsHost(String hostHeader) {
      if (hostHeader == null || allowedHosts.contains("*")) {
        return true;
      }
      String host = hostHeader.trim().toLowerCase(java.util.Locale.ROOT);
      if (host.startsWith("[")) {
        return true; // an IPv6 literal
      }
      int colon = host.lastIndexOf(':');
      if (colon >= 0) {
        host = host.substring(0, colon);
      }
      if (allowedHosts.contains(host)) {
        return true;
      }
      if (!allowedHosts.isEmpty()) {
        return false;
      }
      if (!loopbackBind) {
        return true;
      }
      return !host.contains(".") || host.matches("[0-9.]+");
    }

    /** Whether a page from {@code origin} (a request's Origin header; null: none) may call us. */
    public boolean allowsOrigin(String origin) {
      return origin != null && (corsOrigins.contains("*") || corsOrigins.contains(origin));
    }

    /** Reads every HTTP key of a resolved configuration. */
    public static Settings of(ServerConfig c) {
      return new Settings(
          c.get(PORT),
          c.get(MAX_BODY_BYTES),
          c.get(MAX_CONNECTIONS),
          c.get(IDLE_TIMEOUT_MS),
          c.get(HEADER_TIMEOUT_MS),
          c.get(MAX_SSE_CONNECTIONS),
          c.get(SSE_HEARTBEAT_MS),
          c.get(SSE_MAX_PENDING_BYTES),
          c.get(MAX_WS_CONNECTIONS),
          c.get(WS_MAX_SUBSCRIPTIONS),
          c.get(WS_MAX_PENDING_BYTES),
          c.get(CORS_ORIGINS),
          c.get(ALLOWED_HOSTS),
          loopback(c.get(io.switchboard.spi.config.CommonKeys.BIND)));
    }

    private static boolean loopback(String bind) {
      try {
        for (java.net.InetAddress a : java.net.InetAddress.getAllByName(bind)) {
          if (!a.isLoopbackAddress()) {
            return false;
          }
        }
        return true;
      } catch (java.net.UnknownHostException e) {
        return false;
      }
    }
  }

  /** Parses a comma-separated list of origins ({@code scheme://host[:port]}) or {@code *}. */
  static List<String> origins(String text) {
    List<String> out = new java.util.ArrayList<>();
    for (String o : text.split(",")) {
      String t = o.strip();
      if (t.isEmpty()) {
        continue;
      }
      if (!t.equals("*") && !t.matches("https?://[^/\\s]+")) {
        throw new IllegalArgumentException(
            "\"" + t + "\" is not an origin (scheme://host[:port], no path) or *");
      }
      out.add(t);
    }
    return List.copyOf(out);
  }
}
