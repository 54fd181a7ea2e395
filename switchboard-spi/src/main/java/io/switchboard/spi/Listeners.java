package io.switchboard.spi;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.CommonKeys;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.security.TlsContexts;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.function.Consumer;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Listener bootstrap for front ends: a TCP server socket on the server's shared event loops (epoll
 * where available), bound to the configured {@link CommonKeys#BIND} address, with {@code
 * TCP_NODELAY} on every connection; and its TLS twin ({@link #tls}), which puts the server's {@link
 * SslHandler} first in each connection's pipeline. Stateless.
 */
public final class Listeners {
  private static final System.Logger LOG = System.getLogger(Listeners.class.getName());

  private Listeners() {}

  /**
   * Binds a TCP listener and waits until it is bound.
   *
   * @param context the server's event loops and configuration
   * @param port the port; 0 picks a free one
   * @param childOptions further options for accepted connections (water marks, auto-read); may do
   *     nothing
   * @param initializer builds each accepted connection's pipeline, on its event loop
   * @return the bound listener; its local address is the port actually bound
   */
  public static Channel tcp(
      ServerContext context,
      int port,
      Consumer<ServerBootstrap> childOptions,
      Consumer<SocketChannel> initializer)
      throws InterruptedException {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(context.acceptors(), context.workers())
            .channel(
                Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    initializer.accept(ch);
                  }
                });
    childOptions.accept(b);
    return b.bind(context.config().get(CommonKeys.BIND), port).sync().channel();
  }

  /**
   * Binds a TLS listener on {@code port} (from the key {@code portKey}, for the error message) with
   * the server's TLS material, or does nothing when {@code port} is negative. Each connection's
   * pipeline starts with an {@link SslHandler} from the context current at accept time (so a
   * renewed certificate applies to new connections), with the configured handshake timeout; the
   * {@code initializer} then adds the protocol's handlers after it, which see plain bytes.
   *
   * @return the bound listener, or empty when {@code port} is negative
   * @throws SwitchboardException {@code INVALID_CONFIG} when a TLS port is set without {@code
   *     tls.cert} and {@code tls.key}
   */
  public static Optional<Channel> tls(
      ServerContext context,
      ConfigKey<Integer> portKey,
      Consumer<ServerBootstrap> childOptions,
      Consumer<SocketChannel> initializer)
      throws InterruptedException {
    int port = context.config().get(portKey);
    if (port < 0) {
      return Optional.empty();
    }
    TlsContexts tls =
        context
            .security()
            .tls()
            .orElseThrow(
                () ->
                    SwitchboardException.of(
                        ErrorCode.INVALID_CONFIG,
                        portKey.name() + " is set but tls.cert and tls.key are not"));
    return Optional.of(
        tcp(
            context,
            port,
            childOptions,
            ch -> {
              SslHandler ssl = tls.current().newHandler(ch.alloc());
              ssl.setHandshakeTimeoutMillis(tls.handshakeTimeoutMs());
              ch.pipeline().addLast(TLS_HANDLER, ssl);
              initializer.accept(ch);
            }));
  }

  /** The name of the TLS handler in a connection's pipeline. */
  public static final String TLS_HANDLER = "tls";

  /**
   * The verified client certificate of a TLS connection whose handshake is done (mutual TLS), or
   * empty: a plain connection, no certificate sent, or the handshake not finished.
   */
  public static Optional<X509Certificate> peerCertificate(Channel ch) {
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    if (ssl == null || !ssl.handshakeFuture().isSuccess()) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x
          ? Optional.of(x)
          : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }

  /** Whether {@code ch} runs over TLS. */
  public static boolean isTls(Channel ch) {
    return ch.pipeline().get(SslHandler.class) != null;
  }

  /**
   * Water marks for a front end that cuts off a slow reader at twice its outbound limit: low at
   * {@code maxPendingBytes}, high at twice it (each capped at {@link Integer#MAX_VALUE}), so the
   * channel turns unwritable when the limit is passed twice over.
   */
  public static Consumer<ServerBootstrap> outboundLimit(long maxPendingBytes) {
    WriteBufferWaterMark marks =
        new WriteBufferWaterMark(
            (int) Math.min(Integer.MAX_VALUE, maxPendingBytes),
            (int) Math.min(Integer.MAX_VALUE, 2 * maxPendingBytes));
    return b -> b.childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, marks);
  }

  /**
   * Admits an accepted connection while fewer than {@code max} are open: counts it in {@code open}
   * and uncounts it when it closes. Past the limit the connection is closed at once (and a warning
   * logged for {@code protocol}), and the answer is false. On the connection's event loop.
   */
  public static boolean admit(
      Channel ch, java.util.concurrent.atomic.AtomicInteger open, int max, String protocol) {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      LOG.log(
          System.Logger.Level.WARNING,
          protocol + ": refused a connection from " + ch.remoteAddress() + ": " + max + " open");
      ch.close();
      return false;
    }
    ch.closeFuture().addListener(f -> open.decrementAndGet());
    return true;
  }
}
