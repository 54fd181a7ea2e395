package io.switchboard.grpc;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolNegotiator;
import io.netty.handler.ssl.SslContext;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;

/**
 * A server {@link SslContext} that is, at each new connection, whatever context {@code current}
 * gives then: grpc-java keeps the context it is built with for the server's life, so this is how a
 * renewed certificate (the server's {@code TlsContexts}, which re-reads the PEM files when they
 * change) reaches new gRPC connections without a restart, as on every other TLS listener.
 * Connections already open keep the engine they were made with. Thread-safe.
 */
@SuppressWarnings("deprecation") // SslContext's own API names ApplicationProtocolNegotiator
final class CurrentSslContext extends SslContext {
  private final Supplier<SslContext> current;

  CurrentSslContext(Supplier<SslContext> current) {
    this.current = current;
    if (current.get().isClient()) {
      throw new IllegalArgumentException("a server context is needed");
    }
  }

  @Override
  public boolean isClient() {
    return false;
  }

  @Override
  public List<String> cipherSuites() {
    return current.get().cipherSuites();
  }

  @Override
  public long sessionCacheSize() {
    return current.get().sessionCacheSize();
  }

  @Override
  public long sessionTimeout() {
    return current.get().sessionTimeout();
  }

  @Override
  public ApplicationProtocolNegotiator applicationProtocolNegotiator() {
    return current.get().applicationProtocolNegotiator();
  }

  @Override
  public SSLEngine newEngine(ByteBufAllocator alloc) {
    return current.get().newEngine(alloc);
  }

  @Override
  public SSLEngine newEngine(ByteBufAllocator alloc, String peerHost, int peerPort) {
    return current.get().newEngine(alloc, peerHost, peerPort);
  }

  @Override
  public SSLSessionContext sessionContext() {
    return current.get().sessionContext();
  }
}
