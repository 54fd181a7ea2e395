package io.switchboard.client;

/**
 * How a {@link SwitchboardClient} connects. Immutable.
 *
 * @param host the server's host
 * @param port its native port
 * @param clientName sent in the handshake, shown in the server's logs
 * @param connectTimeoutMs how long connecting and the handshake may take
 * @param requestTimeoutMs default time a request waits for its answer
 */
public record ClientOptions(
    String host, int port, String clientName, long connectTimeoutMs, long requestTimeoutMs) {

  /** 7400, the server's default native port. */
  public static final int DEFAULT_PORT = 7400;

  public ClientOptions {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must be set");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " not in [1, 65535]");
    }
    if (connectTimeoutMs < 1 || requestTimeoutMs < 1) {
      throw new IllegalArgumentException("timeouts must be >= 1 ms");
    }
    clientName = clientName == null ? "switchboard-java" : clientName;
  }

  /** Options for {@code host:port} with default timeouts (5 s to connect, 30 s per request). */
  public static ClientOptions of(String host, int port) {
    return new ClientOptions(host, port, "switchboard-java", 5_000, 30_000);
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
