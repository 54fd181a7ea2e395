package io.switchboard.bench.compare;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.function.Consumer;

/** The suite's own Netty clients (SSE, MQTT): TCP_NODELAY connections set up by one callback. */
final class LoopbackClients {
  private LoopbackClients() {}

  /** A bootstrap whose connections get their handlers from {@code pipeline}. */
  static Bootstrap bootstrap(EventLoopGroup group, Consumer<SocketChannel> pipeline) {
    return new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                pipeline.accept(ch);
              }
            });
  }
}
