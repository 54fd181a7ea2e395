package io.switchboard.nativ;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.codec.NativeFrameDecoder;
import io.switchboard.protocol.codec.NativeFrameEncoder;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.Listeners;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * The native protocol's listener ({@code docs/protocol.md}): one pipeline per connection of the
 * protocol's decoder (never shared), its shared encoder, and a {@link NativeAdapter}. Started and
 * closed by the server's thread.
 */
public final class NativeFrontEnd implements FrontEnd {
  /** 1,024 requests in flight per connection: enough to pipeline, bounded for memory. */
  static final int MAX_PENDING_REQUESTS = 1024;

  /** Transport tag of this front end's deliveries. */
  static final String TRANSPORT = "tcp";

  private volatile ProtocolMeters meters;
  private ChannelGroup channels;
  private Channel listener;
  private Channel tlsListener;

  @Override
  public String name() {
    return "native";
  }

  @Override
  public List<ConfigKey<?>> configKeys() {
    return NativeKeys.ALL;
  }

  static NativeSettings settings(ServerConfig c) {
    return new NativeSettings(
        ProtocolLimits.DEFAULTS.withMaxFrameBytes(c.get(NativeKeys.MAX_FRAME_BYTES)),
        c.get(NativeKeys.MAX_CONNECTIONS),
        c.get(NativeKeys.MAX_SUBSCRIPTIONS),
        MAX_PENDING_REQUESTS,
        c.get(NativeKeys.MAX_PENDING_BYTES),
        c.get(NativeKeys.HANDSHAKE_TIMEOUT_MS));
  }

  @Override
  public Optional<InetSocketAddress> start(ServerContext context) throws InterruptedException {
    ServerConfig config = context.config();
    int port = config.get(NativeKeys.PORT);
    if (port < 0 && config.get(NativeKeys.TLS_PORT) < 0) {
      return Optional.empty();
    }
    NativeSettings settings = settings(config);
    ProtocolMeters meters = new ProtocolMeters(context.meters(), name());
    this.meters = meters;
    channels = new DefaultChannelGroup("native", GlobalEventExecutor.INSTANCE);
    java.util.function.Consumer<io.netty.channel.socket.SocketChannel> pipeline =
        ch -> {
          channels.add(ch);
          ch.pipeline()
              .addLast("decoder", new NativeFrameDecoder(Role.SERVER, settings.limits()))
              .addLast("encoder", NativeFrameEncoder.INSTANCE)
              .addLast(
                  "adapter",
                  new NativeAdapter(
                      context.broker(),
                      settings,
                      context.serverId(),
                      meters,
                      context.security(),
                      context.tracing()));
        };
    tlsListener =
        Listeners.tls(
                context,
                NativeKeys.TLS_PORT,
                Listeners.outboundLimit(settings.maxPendingBytes()),
                pipeline)
            .orElse(null);
    if (port < 0) {
      return Optional.empty();
    }
    listener =
        Listeners.tcp(context, port, Listeners.outboundLimit(settings.maxPendingBytes()), pipeline);
    return Optional.of((InetSocketAddress) listener.localAddress());
  }

  /** Connections open now. */
  public int connectionCount() {
    return meters == null ? 0 : meters.connections();
  }

  @Override
  public Optional<InetSocketAddress> tlsAddress() {
    return Optional.ofNullable(tlsListener).map(c -> (InetSocketAddress) c.localAddress());
  }

  @Override
  public void close() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    if (tlsListener != null) {
      tlsListener.close().syncUninterruptibly();
    }
    if (channels != null) {
      channels.close().awaitUninterruptibly();
    }
  }
}
