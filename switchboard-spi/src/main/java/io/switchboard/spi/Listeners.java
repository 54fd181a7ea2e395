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
import io.switchboard.spi.config.CommonKeys;
import java.util.function.Consumer;

/**
 * Listener bootstrap for front ends: a TCP server socket on the server's shared event loops (epoll
 * where available), bound to the configured {@link CommonKeys#BIND} address, with {@code
 * TCP_NODELAY} on every connection. Stateless.
 */
public final class Listeners {
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
}
