package io.switchboard.spi.security;

import io.netty.handler.ssl.SslContext;

/**
 * The server's TLS material for every TLS listener. Thread-safe: {@link #current()} returns the
 * context built from the certificate files as they were last read; the files are re-read when they
 * change, so a renewed certificate applies to new connections without a restart.
 */
public interface TlsContexts {

  /** The context for new connections. */
  SslContext current();

  /**
   * The context for listeners that speak HTTP/2 chosen by ALPN ({@code h2} only: gRPC), built from
   * the same files as {@link #current()} and renewed with them.
   */
  SslContext currentHttp2();

  /** A TLS handshake not finished within this time closes the connection. */
  long handshakeTimeoutMs();

  /** Which provider the contexts use: {@code OPENSSL} or {@code JDK}. */
  String provider();
}
