package io.switchboard.mqtt;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.switchboard.broker.Broker;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.Listeners;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.WebSocketProtocols;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The MQTT 3.1.1 and 5.0 listener (docs/mqtt.md): Netty's MQTT codec and one {@link MqttConnection}
 * per connection, translating packets into broker calls. Started and closed by the server's thread.
 */
public final class MqttFrontEnd implements FrontEnd {
  public static final ConfigKey<Integer> PORT =
      new ConfigKey<>(
          "mqtt.port",
          "1883",
          "Port of the MQTT listener (the IANA port); 0 picks a free port, -1 turns it off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> TLS_PORT =
      new ConfigKey<>(
          "mqtt.tls-port",
          "-1",
          "Port of MQTT over TLS (8883 by convention; needs tls.cert and tls.key); -1 (the"
              + " default) turns it off, 0 picks a free port. Set mqtt.port to -1 for TLS only.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> MAX_CONNECTIONS =
      new ConfigKey<>(
          "mqtt.max-connections",
          "10000",
          "MQTT connections open at once; past it a CONNECT is refused with server unavailable.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_PACKET_BYTES =
      new ConfigKey<>(
          "mqtt.max-packet-bytes",
          "1048576",
          "Largest MQTT packet accepted (1 MiB, a stream's default message limit); larger ones are"
              + " refused before they are buffered.",
          ConfigKey.intIn(1024, 256 << 20));

  public static final ConfigKey<Integer> MAX_SUBSCRIPTIONS =
      new ConfigKey<>(
          "mqtt.max-subscriptions",
          "1000",
          "Topic filters one MQTT connection may subscribe to.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_INFLIGHT =
      new ConfigKey<>(
          "mqtt.max-inflight",
          "1000",
          "QoS 1 and 2 messages in flight each way per connection (the receive maximum); bounds"
              + " the packet-id state a client can make the server hold.",
          ConfigKey.intIn(1, 65_535));

  public static final ConfigKey<Integer> MAX_PENDING_BYTES =
      new ConfigKey<>(
          "mqtt.max-pending-bytes",
          "1048576",
          "Bytes waiting to be written to one MQTT connection (1 MiB); past it QoS 0 messages for"
              + " that connection are dropped (at most once) rather than queued, so a slow"
              + " subscriber gets recent messages, not ones seconds old, and costs the server at"
              + " most this much. QoS 1 and 2 deliveries wait in its session instead.",
          ConfigKey.intIn(16 * 1024, 1 << 30));

  public static final ConfigKey<Integer> MAX_KEEP_ALIVE =
      new ConfigKey<>(
          "mqtt.max-keep-alive",
          "65535",
          "Longest keep-alive (seconds) an MQTT 5 client may ask for; one asking for more, or for 0"
              + " (none), is told this value as Server Keep Alive in its CONNACK and held to it, so"
              + " a silent dead connection is found within 1.5 times this. 65535, the largest an"
              + " MQTT client can ask for, as Mosquitto; 0 lets clients have no keep-alive. 3.1.1"
              + " clients cannot be told and keep their own.",
          ConfigKey.intIn(0, 65_535));

  /** Where MQTT over WebSocket is mounted on the HTTP port. */
  public static final String WEBSOCKET_PATH = "/mqtt";

  /** The compacted stream holding retained messages, one per topic. */
  public static final String RETAINED_STREAM = "MQTT_RETAINED";

  /** Subject prefix of retained copies: {@code $MQTT.retained.<subject>}. */
  public static final String RETAINED_PREFIX = "$MQTT.retained.";

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MqttFrontEnd.class);

  /** Packets the codec accepts in a client id: MQTT 5 allows 23 and up; more is a mistake. */
  static final int MAX_CLIENT_ID_LENGTH = 256;

  /** 10 s for a CONNECT: a silent socket cannot hold a connection slot. */
  static final long CONNECT_TIMEOUT_MS = 10_000;

  private volatile ProtocolMeters meters;

  /** 10 s between $SYS updates, as Mosquitto's default. */
  static final long SYS_INTERVAL_MS = 10_000;

  private ChannelGroup channels;
  private java.util.concurrent.ScheduledFuture<?> sysTimer;
  private MqttSessions sessions;
  private Channel listener;
  private Channel tlsListener;

  @Override
  public String name() {
    return "mqtt";
  }

  @Override
  public List<ConfigKey<?>> configKeys() {
    return List.of(
        PORT,
        TLS_PORT,
        MAX_CONNECTIONS,
        MAX_PACKET_BYTES,
        MAX_SUBSCRIPTIONS,
        MAX_INFLIGHT,
        MAX_PENDING_BYTES,
        MAX_KEEP_ALIVE);
  }

  @Override
  public Optional<InetSocketAddress> start(ServerContext context) throws InterruptedException {
    ServerConfig config = context.config();
    int port = config.get(PORT);
    if (port < 0 && config.get(TLS_PORT) < 0) {
      return Optional.empty();
    }
    long pending = config.get(MAX_PENDING_BYTES);
    boolean retainAvailable = ensureRetainedStream(context.broker());
    MqttSettings settings =
        new MqttSettings(
            config.get(MAX_CONNECTIONS),
            config.get(MAX_PACKET_BYTES),
            config.get(MAX_SUBSCRIPTIONS),
            config.get(MAX_INFLIGHT),
            pending,
            CONNECT_TIMEOUT_MS,
            retainAvailable,
            config.get(MAX_KEEP_ALIVE));
    channels = new DefaultChannelGroup("mqtt", GlobalEventExecutor.INSTANCE);
    ProtocolMeters meters = new ProtocolMeters(context.meters(), name());
    this.meters = meters;
    sessions = new MqttSessions(context.broker(), context.workers().next());
    java.util.function.Consumer<io.netty.channel.socket.SocketChannel> tcpPipeline =
        ch -> {
          channels.add(ch);
          ch.pipeline()
              .addLast("connect-guard", new MqttConnectGuard(settings.maxPacketBytes(), meters))
              .addLast("decoder", new MqttDecoder(settings.maxPacketBytes(), MAX_CLIENT_ID_LENGTH))
              .addLast("encoder", MqttEncoder.INSTANCE)
              .addLast(
                  "connection",
                  new MqttConnection(
                      context.broker(),
                      settings,
                      meters,
                      "tcp",
                      sessions,
                      context.security(),
                      context.tracing()));
        };
    tlsListener =
        Listeners.tls(context, TLS_PORT, Listeners.outboundLimit(pending), tcpPipeline)
            .orElse(null);
    if (port >= 0) {
      listener = Listeners.tcp(context, port, Listeners.outboundLimit(pending), tcpPipeline);
    }
    // MQTT over WebSocket for browsers, on the HTTP port (when an HTTP front end serves it).
    context
        .webSockets()
        .register(
            new WebSocketProtocols.Mount(
                WEBSOCKET_PATH,
                "mqtt",
                pipeline ->
                    pipeline
                        .addLast(
                            "mqtt-connect-guard",
                            new MqttConnectGuard(settings.maxPacketBytes(), meters))
                        .addLast(
                            "mqtt-decoder",
                            new MqttDecoder(settings.maxPacketBytes(), MAX_CLIENT_ID_LENGTH))
                        .addLast("mqtt-encoder", MqttEncoder.INSTANCE)
                        .addLast(
                            "mqtt",
                            new MqttConnection(
                                context.broker(),
                                settings,
                                meters,
                                "websocket",
                                sessions,
                                context.security(),
                                context.tracing()))));
    long startedMs = System.currentTimeMillis();
    Broker broker = context.broker();
    sysTimer =
        context
            .workers()
            .next()
            .scheduleAtFixedRate(
                () -> publishSys(broker, startedMs, retainAvailable),
                0,
                SYS_INTERVAL_MS,
                java.util.concurrent.TimeUnit.MILLISECONDS);
    return listener == null
        ? Optional.empty()
        : Optional.of((InetSocketAddress) listener.localAddress());
  }

  @Override
  public Optional<InetSocketAddress> tlsAddress() {
    return Optional.ofNullable(tlsListener).map(c -> (InetSocketAddress) c.localAddress());
  }

  /**
   * Retained messages live in a compacted stream of their own (latest per subject, survives
   * restarts): created on first start. When a user stream already captures its subjects, retained
   * messages are switched off and the logs say why.
   */
  static boolean ensureRetainedStream(Broker broker) {
    broker.ownStream(RETAINED_STREAM, "MQTT retained messages");
    try {
      broker.streamInfo(RETAINED_STREAM);
      return true;
    } catch (SwitchboardException e) {
      if (e.code() != ErrorCode.STREAM_NOT_FOUND) {
        throw e;
      }
    }
    try {
      broker.createStream(
          StreamConfig.builder(RETAINED_STREAM, RETAINED_PREFIX + ">")
              .retention(Retention.COMPACTED)
              .build());
      return true;
    } catch (SwitchboardException e) {
      LOG.warn(
          "SB-MQTT-6001 retained messages are off: cannot create stream {}: {}",
          RETAINED_STREAM,
          e.getMessage());
      return false;
    }
  }

  /**
   * Broker statistics under {@code $SYS/broker/...}, retained so a new subscriber sees the current
   * values at once. Only filters naming {@code $SYS} see them (MQTT-4.7.2-1).
   */
  private void publishSys(Broker broker, long startedMs, boolean retain) {
    try {
      Map<String, String> values = new java.util.LinkedHashMap<>();
      values.put("$SYS/broker/version", "switchboard 0.1.0-SNAPSHOT");
      values.put(
          "$SYS/broker/uptime", (System.currentTimeMillis() - startedMs) / 1000 + " seconds");
      values.put("$SYS/broker/clients/connected", Integer.toString(meters.connections()));
      values.put("$SYS/broker/messages/published", Long.toString(broker.live().publishedCount()));
      values.put(
          "$SYS/broker/subscriptions/count", Integer.toString(broker.live().subscriptionCount()));
      for (Map.Entry<String, String> e : values.entrySet()) {
        io.switchboard.core.Message m =
            io.switchboard.core.Message.of(
                MqttTopics.toSubject(e.getKey()),
                e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                0);
        broker.publish(m, io.switchboard.broker.PublishOptions.NONE);
        if (retain) {
          broker.publish(
              m.withSubject(RETAINED_PREFIX + m.subject()),
              io.switchboard.broker.PublishOptions.NONE);
        }
      }
    } catch (RuntimeException e) {
      LOG.debug("$SYS update skipped: {}", e.toString());
    }
  }

  @Override
  public void close() {
    if (sysTimer != null) {
      sysTimer.cancel(false);
    }
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    if (tlsListener != null) {
      tlsListener.close().syncUninterruptibly();
    }
    if (channels != null) {
      channels.close().awaitUninterruptibly();
    }
    if (sessions != null) {
      sessions.close();
    }
  }
}
