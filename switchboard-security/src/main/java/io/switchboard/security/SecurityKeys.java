package io.switchboard.security;

import io.switchboard.spi.config.ConfigKey;
import java.util.List;

/**
 * Security configuration keys ({@code auth.*}, {@code acl.*}, {@code tls.*}, {@code insecure}),
 * declared once; the server lists them in its catalogue. Immutable.
 */
public final class SecurityKeys {
  private SecurityKeys() {}

  public static final ConfigKey<Boolean> AUTH_REQUIRED =
      new ConfigKey<>(
          "auth.required",
          "false",
          "Whether every connection must authenticate (user and password, a SCRAM exchange, a"
              + " bearer token or a client certificate). Off by default so a first start on"
              + " loopback just works; a server bound to another address refuses to start without"
              + " it unless insecure is set.",
          ConfigKey.bool());

  public static final ConfigKey<Boolean> INSECURE =
      new ConfigKey<>(
          "insecure",
          "false",
          "Start on a non-loopback bind address without auth.required (the command line's"
              + " --insecure): only for trusted networks, since anyone who reaches a port may then"
              + " publish, read and delete.",
          ConfigKey.bool());

  public static final ConfigKey<String> ACL_DEFAULT =
      new ConfigKey<>(
          "acl.default",
          "allow",
          "What a request no rule matches gets: allow (as before rules existed) or deny (a"
              + " secure set-up: everything is forbidden unless a rule allows it). Deny rules win"
              + " either way.",
          ConfigKey.oneOf("allow", "deny"));

  public static final ConfigKey<String> JWT_SECRET =
      new ConfigKey<>(
          "auth.jwt.secret",
          "",
          "HMAC secret (at least 32 bytes) for HS256/384/512 bearer tokens; empty: none. Prefer"
              + " the environment variable SWITCHBOARD_AUTH_JWT_SECRET to a file.",
          ConfigKey.optional());

  public static final ConfigKey<String> JWT_JWKS =
      new ConfigKey<>(
          "auth.jwt.jwks",
          "",
          "JWKS file with the public keys (RSA, EC) bearer tokens are verified against; re-read"
              + " when it changes. Empty: none.",
          ConfigKey.optional());

  public static final ConfigKey<String> JWT_ISSUER =
      new ConfigKey<>(
          "auth.jwt.issuer",
          "",
          "The iss claim every token must carry; empty: any.",
          ConfigKey.optional());

  public static final ConfigKey<String> JWT_AUDIENCE =
      new ConfigKey<>(
          "auth.jwt.audience",
          "",
          "The aud value every token must carry; empty: any.",
          ConfigKey.optional());

  public static final ConfigKey<Long> FAILURE_DELAY_MS =
      new ConfigKey<>(
          "auth.failure-delay-ms",
          "250",
          "A failed login is answered after this delay, doubled with each further failure from"
              + " the same address or for the same user: online password guessing slows down"
              + " without locking anyone out.",
          ConfigKey.longIn(0, 60_000));

  public static final ConfigKey<Long> MAX_FAILURE_DELAY_MS =
      new ConfigKey<>(
          "auth.max-failure-delay-ms",
          "10000",
          "The longest a login answer waits after repeated failures.",
          ConfigKey.longIn(0, 600_000));

  public static final ConfigKey<String> TLS_CERT =
      new ConfigKey<>(
          "tls.cert",
          "",
          "PEM file with the server's certificate chain; setting it (with tls.key) enables the"
              + " *.tls-port listeners. Re-read when it changes, for new connections.",
          ConfigKey.optional());

  public static final ConfigKey<String> TLS_KEY =
      new ConfigKey<>(
          "tls.key",
          "",
          "PEM file with the private key of tls.cert (PKCS#8, unencrypted); keep it readable by"
              + " the server's user only.",
          ConfigKey.optional());

  public static final ConfigKey<String> TLS_CA =
      new ConfigKey<>(
          "tls.ca",
          "",
          "PEM file with the CA certificates client certificates must chain to (mutual TLS);"
              + " empty: the JDK's trust store.",
          ConfigKey.optional());

  public static final ConfigKey<String> TLS_CLIENT_AUTH =
      new ConfigKey<>(
          "tls.client-auth",
          "none",
          "Client certificates: none, request (verified when sent; its subject becomes the"
              + " principal) or require (a connection without one fails the handshake).",
          ConfigKey.oneOf("none", "request", "require"));

  public static final ConfigKey<String> TLS_PROVIDER =
      new ConfigKey<>(
          "tls.provider",
          "auto",
          "TLS implementation: openssl (BoringSSL through netty-tcnative, faster), jdk, or auto"
              + " (openssl where it loads).",
          ConfigKey.oneOf("auto", "openssl", "jdk"));

  public static final ConfigKey<Long> TLS_HANDSHAKE_TIMEOUT_MS =
      new ConfigKey<>(
          "tls.handshake-timeout-ms",
          "10000",
          "A TLS handshake not finished within this time closes the connection, so sockets that"
              + " never finish one cannot hold connection slots.",
          ConfigKey.longIn(100, 600_000));

  public static final ConfigKey<Long> RELOAD_CHECK_MS =
      new ConfigKey<>(
          "security.reload-check-ms",
          "2000",
          "How often the server looks for changed security files (users and rules written by"
              + " the command line, the JWKS file, certificates): the delay before such a change"
              + " applies.",
          ConfigKey.longIn(100, 3_600_000));

  public static final ConfigKey<Long> QUOTA_PUBLISH_BYTES =
      quota(
          "quota.publish-bytes",
          "Payload bytes each principal may publish per second, over all its connections (0:"
              + " unlimited). Past it the client is slowed (reads paused, Kafka throttle_time_ms),"
              + " HTTP answers 429.");

  public static final ConfigKey<Long> QUOTA_PUBLISH_MESSAGES =
      quota(
          "quota.publish-messages",
          "Messages each principal may publish per second (0: unlimited); slowed as"
              + " quota.publish-bytes.");

  public static final ConfigKey<Long> QUOTA_CONSUME_BYTES =
      quota(
          "quota.consume-bytes",
          "Payload bytes each principal may receive per second from consumers, subscriptions and"
              + " reads (0: unlimited); past it deliveries wait (credits withheld, reads paused).");

  public static final ConfigKey<Long> QUOTA_REQUESTS =
      quota(
          "quota.requests",
          "Requests (request/reply, and every HTTP request) each principal may make per second"
              + " (0: unlimited).");

  public static final ConfigKey<Long> QUOTA_CONNECTIONS =
      quota(
          "quota.connections",
          "Connections each principal may hold open at once (0: unlimited); one more is refused"
              + " with QUOTA_CONNECTIONS.");

  public static final ConfigKey<Long> QUOTA_CONSUMERS =
      quota(
          "quota.consumers",
          "Subscriptions and consumers each principal may hold open at once over all its"
              + " connections (0: unlimited); one more is refused with QUOTA_CONSUMERS.");

  private static ConfigKey<Long> quota(String name, String doc) {
    return new ConfigKey<>(name, "0", doc, ConfigKey.longIn(0, Long.MAX_VALUE));
  }

  /** Every key, in documentation order. */
  public static final List<ConfigKey<?>> ALL =
      List.of(
          AUTH_REQUIRED,
          INSECURE,
          ACL_DEFAULT,
          JWT_SECRET,
          JWT_JWKS,
          JWT_ISSUER,
          JWT_AUDIENCE,
          FAILURE_DELAY_MS,
          MAX_FAILURE_DELAY_MS,
          TLS_CERT,
          TLS_KEY,
          TLS_CA,
          TLS_CLIENT_AUTH,
          TLS_PROVIDER,
          TLS_HANDSHAKE_TIMEOUT_MS,
          RELOAD_CHECK_MS,
          QUOTA_PUBLISH_BYTES,
          QUOTA_PUBLISH_MESSAGES,
          QUOTA_CONSUME_BYTES,
          QUOTA_REQUESTS,
          QUOTA_CONNECTIONS,
          QUOTA_CONSUMERS);
}
