package io.switchboard.amqp;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.Listeners;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The AMQP 0-9-1 listener (docs/amqp.md): {@link AmqpFrameDecoder}, {@link AmqpFrameEncoder} and
 * one {@link AmqpConnection} per connection, on a model shared by all ({@link AmqpModel}). Started
 * and closed by the server's thread.
 */
public final class AmqpFrontEnd implements FrontEnd {
  public static final ConfigKey<Integer> PORT =
      new ConfigKey<>(
          "amqp.port",
          "5672",
          "Port of the AMQP 0-9-1 listener (RabbitMQ's own); 0 picks a free port, -1 turns it off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> TLS_PORT =
      new ConfigKey<>(
          "amqp.tls-port",
          "-1",
          "Port of AMQP 0-9-1 over TLS (AMQPS, 5671 by convention; needs tls.cert and tls.key); -1"
              + " (the default) turns it off, 0 picks a free port. Set amqp.port to -1 for TLS"
              + " only.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> MAX_CONNECTIONS =
      new ConfigKey<>(
          "amqp.max-connections",
          "10000",
          "AMQP connections open at once; past it new connections are closed at once.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> FRAME_MAX =
      new ConfigKey<>(
          "amqp.frame-max",
          "131072",
          "Largest AMQP frame offered in connection.tune, in bytes (RabbitMQ's default); a larger"
              + " frame closes the connection with 501 FRAME_ERROR.",
          ConfigKey.intIn(4096, 16 << 20));

  public static final ConfigKey<Integer> CHANNEL_MAX =
      new ConfigKey<>(
          "amqp.channel-max",
          "2047",
          "Channels one AMQP connection may open (RabbitMQ's default); a higher channel number"
              + " closes the connection with 530 NOT_ALLOWED.",
          ConfigKey.intIn(1, 65535));

  public static final ConfigKey<Integer> HEARTBEAT =
      new ConfigKey<>(
          "amqp.heartbeat-seconds",
          "60",
          "Heartbeat interval offered in connection.tune; a client that agrees to one and sends"
              + " nothing for two intervals is disconnected. 0 offers none.",
          ConfigKey.intIn(0, 65535));

  public static final ConfigKey<Integer> MAX_PREFETCH =
      new ConfigKey<>(
          "amqp.max-prefetch",
          "10000",
          "Most unacknowledged messages one AMQP consumer is sent: the prefetch of a consumer that"
              + " asks for none (basic.qos 0) and the cap of one that asks for more.",
          ConfigKey.intIn(1, 65535));

  public static final ConfigKey<Integer> MAX_UNCONFIRMED =
      new ConfigKey<>(
          "amqp.max-unconfirmed",
          "10000",
          "Publishes one AMQP connection may have waiting for storage; past it the connection is"
              + " not read (connection.blocked is sent) until half are done.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<String> QUEUE_FSYNC =
      new ConfigKey<>(
          "amqp.queue-fsync",
          "interval",
          "Fsync policy of the streams of queues declared from now on: interval (written before"
              + " the confirm, fsynced within 1 s) or always (fsynced before the confirm, as"
              + " RabbitMQ's durable queues; group commit).",
          ConfigKey.oneOf("interval", "always"));

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AmqpFrontEnd.class);

  private ChannelGroup channels;
  private AmqpModel model;
  private Channel listener;
  private Channel tlsListener;

  @Override
  public String name() {
    return "amqp";
  }

  @Override
  public List<ConfigKey<?>> configKeys() {
    return List.of(
        PORT,
        TLS_PORT,
        MAX_CONNECTIONS,
        FRAME_MAX,
        CHANNEL_MAX,
        HEARTBEAT,
        MAX_PREFETCH,
        MAX_UNCONFIRMED,
        QUEUE_FSYNC);
  }

  @Override
  public Optional<InetSocketAddress> start(ServerContext context) throws InterruptedException {
    ServerConfig config = context.config();
    int port = config.get(PORT);
    if (port < 0 && config.get(TLS_PORT) < 0) {
      return Optional.empty();
    }
    AmqpSettings settings =
        new AmqpSettings(
            config.get(MAX_CONNECTIONS),
            config.get(FRAME_MAX),
            config.get(CHANNEL_MAX),
            config.get(HEARTBEAT),
            config.get(MAX_PREFETCH),
            config.get(MAX_UNCONFIRMED));
    AmqpModel model = new AmqpModel(context.broker(), config.get(QUEUE_FSYNC));
    model.load();
    this.model = model;
    AtomicInteger open = new AtomicInteger();
    channels = new DefaultChannelGroup("amqp", GlobalEventExecutor.INSTANCE);
    java.util.function.Consumer<io.netty.channel.socket.SocketChannel> pipeline =
        ch -> {
          if (!Listeners.admit(ch, open, settings.maxConnections(), "amqp")) {
            return;
          }
          channels.add(ch);
          AmqpFrameDecoder decoder = new AmqpFrameDecoder(settings.frameMax());
          ch.pipeline()
              // One write to the socket for the frames of a read and for those written by
              // tasks meanwhile (deliveries, confirms), not a flush (a syscall) per frame.
              .addLast(
                  "flush",
                  new FlushConsolidationHandler(
                      FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true))
              .addLast("frames-out", new AmqpFrameEncoder())
              .addLast("frames", decoder)
              .addLast(
                  "amqp",
                  new AmqpConnection(
                      model, settings, decoder, context.security(), context.tracing()));
        };
    // AMQPS: the same connections behind TLS (the connection count is shared).
    tlsListener = Listeners.tls(context, TLS_PORT, b -> {}, pipeline).orElse(null);
    if (tlsListener != null) {
      LOG.info("amqp (TLS) listening on {}", tlsListener.localAddress());
    }
    if (port < 0) {
      return Optional.empty();
    }
    listener = Listeners.tcp(context, port, b -> {}, pipeline);
    InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
    LOG.info("amqp listening on {}", bound);
    return Optional.of(bound);
  }

  @Override
  public Optional<InetSocketAddress> tlsAddress() {
    return Optional.ofNullable(tlsListener).map(c -> (InetSocketAddress) c.localAddress());
  }

  @Override
  public void close() {
    if (listener != null) {
      listener.close().awaitUninterruptibly();
    }
    if (tlsListener != null) {
      tlsListener.close().awaitUninterruptibly();
    }
    if (channels != null) {
      channels.close().awaitUninterruptibly();
    }
    if (model != null) {
      model.close();
    }
  }
}
