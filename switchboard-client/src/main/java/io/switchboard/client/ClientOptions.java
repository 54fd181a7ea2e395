package io.switchboard.client;

/**
 * How a {@link SwitchboardClient} connects. Immutable.
 *
 * @param host the server's host
 * @param port its native port
 * @param clientName sent in the handshake, shown in the server's logs
 * @param connectTimeoutMs how long connecting and the handshake may take
 * @param requestTimeoutMs default time a request waits for its answer
 * @param reconnect whether a lost connection is re-established (with back-off) and its
 *     subscriptions and unacknowledged publishes restored
 * @param maxReconnectDelayMs the longest wait between two reconnect attempts
 * @param idempotent whether each publish gets a unique message id, so a publish retried after a
 *     reconnect is stored once (within the stream's duplicate window)
 */
public record ClientOptions(
    String host,
    int port,
    String clientName,
    long connectTimeoutMs,
    long requestTimeoutMs,
    boolean reconnect,
    long maxReconnectDelayMs,
    boolean idempotent) {

  /** 7400, the server's default native port. */
  public static final int DEFAULT_PORT = 7400;

  public ClientOptions {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must be set");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " not in [1, 65535]");
    }
    if (connectTimeoutMs < 1 || requestTimeoutMs < 1 || maxReconnectDelayMs < 1) {
      throw new IllegalArgumentException("timeouts and delays must be >= 1 ms");
    }
    clientName = clientName == null ? "switchboard-java" : clientName;
  }

  /**
   * Options for {@code host:port} with the defaults: 5 s to connect, 30 s per request, reconnect
   * with back-off up to 5 s, idempotent publishes.
   */
  public static ClientOptions of(String host, int port) {
    return new ClientOptions(host, port, "switchboard-java", 5_000, 30_000, true, 5_000, true);
  }

  /** A copy that does, or does not, reconnect after losing the connection. */
  public ClientOptions withReconnect(boolean value) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        requestTimeoutMs,
        value,
        maxReconnectDelayMs,
        idempotent);
  }

  /** A copy with, or without, automatic message ids on publishes. */
  public ClientOptions withIdempotence(boolean value) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        requestTimeoutMs,
        reconnect,
        maxReconnectDelayMs,
        value);
  }

  /** A copy that introduces itself to the server as {@code name}. */
  public ClientOptions withClientName(String name) {
    return new ClientOptions(
        host,
        port,
        name,
        connectTimeoutMs,
        requestTimeoutMs,
        reconnect,
        maxReconnectDelayMs,
        idempotent);
  }

  /** A copy with another request timeout. */
  public ClientOptions withRequestTimeoutMs(long value) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        value,
        reconnect,
        maxReconnectDelayMs,
        idempotent);
  }

  /**
   * Parses {@code HOST:PORT} (or {@code HOST}, for the default port).
   *
   * @throws IllegalArgumentException naming what is wrong with it
   */
  public static ClientOptions parse(String address) {
    int colon = address.lastIndexOf(':');
    if (colon < 0) {
      return of(address, DEFAULT_PORT);
    }
    try {
      return of(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("server address \"" + address + "\" is not HOST:PORT");
    }
  }
}
