package io.switchboard.security;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.security.TlsContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's TLS context, built from PEM files ({@code tls.cert}, {@code tls.key}, optional
 * {@code tls.ca}) and rebuilt when one of them changes. Thread-safe: {@link #current()} is a
 * volatile read; reloads come from one thread. A change that does not make a valid context (a
 * certificate renewed before its key) is logged and the previous context stays in force.
 *
 * <p>Provider: OpenSSL (BoringSSL from netty-tcnative) where it loads, else the JDK's, unless
 * {@code tls.provider} names one. TLS 1.2 and 1.3 only.
 */
final class TlsFiles implements TlsContexts {
  private static final Logger LOG = LoggerFactory.getLogger(TlsFiles.class);

  private final Path cert;
  private final Path key;
  private final Path ca;
  private final ClientAuth clientAuth;
  private final SslProvider provider;
  private final long handshakeTimeoutMs;
  private volatile SslContext current;
  private volatile SslContext currentHttp2;
  private long stamp;

  TlsFiles(
      Path cert,
      Path key,
      Path ca,
      ClientAuth clientAuth,
      SslProvider provider,
      long handshakeTimeoutMs) {
    this.cert = cert;
    this.key = key;
    this.ca = ca;
    this.clientAuth = clientAuth;
    this.provider = provider;
    this.handshakeTimeoutMs = handshakeTimeoutMs;
    this.stamp = stamp();
    this.current = build(false);
    this.currentHttp2 = build(true);
  }

  /**
   * The TLS material {@code config} names, or empty when {@code tls.cert} is not set.
   *
   * @throws SwitchboardException {@code INVALID_CONFIG} for missing or unusable files
   */
  static Optional<TlsContexts> fromConfig(ServerConfig config) {
    String cert = config.get(SecurityKeys.TLS_CERT);
    String key = config.get(SecurityKeys.TLS_KEY);
    if (cert.isEmpty() && key.isEmpty()) {
      return Optional.empty();
    }
    if (cert.isEmpty() || key.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "tls.cert and tls.key must be set together");
    }
    String ca = config.get(SecurityKeys.TLS_CA);
    ClientAuth auth =
        switch (config.get(SecurityKeys.TLS_CLIENT_AUTH)) {
          case "request" -> ClientAuth.OPTIONAL;
          case "require" -> ClientAuth.REQUIRE;
          default -> ClientAuth.NONE;
        };
    return Optional.of(
        new TlsFiles(
            Path.of(cert),
            Path.of(key),
            ca.isEmpty() ? null : Path.of(ca),
            auth,
            provider(config.get(SecurityKeys.TLS_PROVIDER)),
            config.get(SecurityKeys.TLS_HANDSHAKE_TIMEOUT_MS)));
  }

  static SslProvider provider(String choice) {
    return switch (choice) {
      case "jdk" -> SslProvider.JDK;
      case "openssl" -> {
        if (!OpenSsl.isAvailable()) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_CONFIG,
              "tls.provider=openssl but OpenSSL does not load here: "
                  + OpenSsl.unavailabilityCause());
        }
        yield SslProvider.OPENSSL;
      }
      default -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    };
  }

  @Override
  public SslContext current() {
    return current;
  }

  @Override
  public SslContext currentHttp2() {
    return currentHttp2;
  }

  @Override
  public long handshakeTimeoutMs() {
    return handshakeTimeoutMs;
  }

  @Override
  public String provider() {
    return provider.name();
  }

  /** Rebuilds the context if a file changed since the last build. */
  void reloadIfChanged() {
    long s = stamp();
    if (s == stamp) {
      return;
    }
    stamp = s;
    try {
      SslContext plain = build(false);
      currentHttp2 = build(true);
      current = plain;
      LOG.info("SB-SEC-1004 TLS certificate files changed; new connections use them");
    } catch (SwitchboardException e) {
      LOG.warn("SB-SEC-5004 {}; the previous certificate stays in force", e.getMessage());
    }
  }

  /**
   * @param http2 offer ALPN {@code h2} alone (gRPC requires it)
   */
  private SslContext build(boolean http2) {
    try {
      SslContextBuilder b =
          SslContextBuilder.forServer(cert.toFile(), key.toFile())
              .sslProvider(provider)
              .protocols("TLSv1.3", "TLSv1.2")
              .clientAuth(clientAuth);
      if (http2) {
        // Netty's default TLS 1.2 suites are ECDHE with AEAD, which HTTP/2 (RFC 9113 §9.2) allows.
        b.applicationProtocolConfig(
            new io.netty.handler.ssl.ApplicationProtocolConfig(
                io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior
                    .ACCEPT,
                io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2));
      }
      if (ca != null) {
        b.trustManager(ca.toFile());
      }
      return b.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw SwitchboardException.wrap(
          e,
          ErrorCode.INVALID_CONFIG,
          "cannot use TLS files "
              + cert
              + ", "
              + key
              + (ca == null ? "" : ", " + ca)
              + ": "
              + e.getMessage());
    }
  }

  private long stamp() {
    long s = 17;
    for (Path p : new Path[] {cert, key, ca}) {
      try {
        s = s * 31 + (p == null ? 0 : Files.getLastModifiedTime(p).toMillis() + Files.size(p));
      } catch (IOException e) {
        s = s * 31 - 1;
      }
    }
    return s;
  }
}
