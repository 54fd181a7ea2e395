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
 * @param user the user to log in as (with {@code password}: a SCRAM exchange in the handshake, see
 *     {@code mechanism}), or null
 * @param password the user's password, or null
 * @param token a bearer token (JWT) to log in with instead, or null
 * @param tls whether to connect over TLS (to the server's {@code native.tls-port})
 * @param tlsCa a PEM file of the CA certificates to trust, or null for the JDK's trust store
 * @param mechanism how {@code user} and {@code password} are sent: {@code SCRAM-SHA-256} (null
 *     means this), {@code SCRAM-SHA-512}, or {@code PLAIN} (the password itself, for servers older
 *     than the SCRAM handshake; send it over TLS only)
 */
public record ClientOptions(
    String host,
    int port,
    String clientName,
    long connectTimeoutMs,
    long requestTimeoutMs,
    boolean reconnect,
    long maxReconnectDelayMs,
    boolean idempotent,
    String user,
    String password,
    String token,
    boolean tls,
    String tlsCa,
    String mechanism) {

  /** The default mechanism for a user and password. */
  public static final String SCRAM_SHA_256 = "SCRAM-SHA-256";

  /** The mechanisms {@code mechanism} may name. */
  public static final java.util.List<String> MECHANISMS =
      java.util.List.of(SCRAM_SHA_256, "SCRAM-SHA-512", "PLAIN");

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
    if ((user == null) != (password == null)) {
      throw new IllegalArgumentException("user and password go together");
    }
    if (user != null && token != null) {
      throw new IllegalArgumentException("log in with a user and password or a token, not both");
    }
    mechanism = mechanism == null ? SCRAM_SHA_256 : mechanism.toUpperCase(java.util.Locale.ROOT);
    if (!MECHANISMS.contains(mechanism)) {
      throw new IllegalArgumentException(
          "mechanism " + mechanism + " is not one of " + String.join(", ", MECHANISMS));
    }
  }

  /** The options without secrets: the password and the token are masked. */
  @Override
  public String toString() {
    return "ClientOptions[host="
        + host
        + ", port="
        + port
        + ", clientName="
        + clientName
        + ", user="
        + user
        + ", password="
        + (password == null ? null : "***")
        + ", token="
        + (token == null ? null : "***")
        + ", tls="
        + tls
        + ", tlsCa="
        + tlsCa
        + ", mechanism="
        + mechanism
        + "]";
  }

  /** A copy that logs in as {@code user} with {@code password}. */
  public ClientOptions withCredentials(String user, String password) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        requestTimeoutMs,
        reconnect,
        maxReconnectDelayMs,
        idempotent,
        user,
        password,
        null,
        tls,
        tlsCa,
        mechanism);
  }

  /** A copy that logs in with the bearer token {@code token} (a JWT). */
  public ClientOptions withToken(String token) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        requestTimeoutMs,
        reconnect,
        maxReconnectDelayMs,
        idempotent,
        null,
        null,
        token,
        tls,
        tlsCa,
        mechanism);
  }

  /**
   * A copy that connects over TLS, trusting the CA certificates in the PEM file {@code caFile} (or
   * the JDK's trust store when null).
   */
  public ClientOptions withTls(String caFile) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        requestTimeoutMs,
        reconnect,
        maxReconnectDelayMs,
        idempotent,
        user,
        password,
        token,
        true,
        caFile,
        mechanism);
  }

  /**
   * A copy that sends the user and password with {@code mechanism}: {@code SCRAM-SHA-256} (the
   * default), {@code SCRAM-SHA-512} or {@code PLAIN}.
   */
  public ClientOptions withMechanism(String mechanism) {
    return new ClientOptions(
        host,
        port,
        clientName,
        connectTimeoutMs,
        requestTimeoutMs,
        reconnect,
        maxReconnectDelayMs,
        idempotent,
        user,
        password,
        token,
        tls,
        tlsCa,
        mechanism);
  }

  /**
   * The SCRAM exchange for one connection attempt, or null when the HELLO credential says it all
   * ([P-4.1], [P-4.5] of docs/protocol.md).
   */
  ScramClient scram() {
    return user != null && mechanism.startsWith("SCRAM-")
        ? new ScramClient(mechanism, user, password, RANDOM)
        : null;
  }

  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /**
   * The HELLO credential ([P-4.1] of docs/protocol.md): {@code SCRAM-SHA-… client-first} (from
   * {@code scram}), {@code PLAIN NUL user NUL password}, {@code BEARER token}, or null.
   */
  byte[] helloCredential(ScramClient scram) {
    if (scram != null) {
      return scram.hello();
    }
    String text =
        user != null
            ? "PLAIN \u0000" + user + "\u0000" + password
            : token != null ? "BEARER " + token : null;
    return text == null ? null : text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * Options for {@code host:port} with the defaults: 5 s to connect, 30 s per request, reconnect
   * with back-off up to 5 s, idempotent publishes.
   */
  public static ClientOptions of(String host, int port) {
    return new ClientOptions(
        host,
        port,
        "switchboard-java",
        5_000,
        30_000,
        true,
        5_000,
        true,
        null,
        null,
        null,
        false,
        null,
        null);
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
        idempotent,
        user,
        password,
        token,
        tls,
        tlsCa,
        mechanism);
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
        value,
        user,
        password,
        token,
        tls,
        tlsCa,
        mechanism);
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
        idempotent,
        user,
        password,
        token,
        tls,
        tlsCa,
        mechanism);
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
        idempotent,
        user,
        password,
        token,
        tls,
        tlsCa,
        mechanism);
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
