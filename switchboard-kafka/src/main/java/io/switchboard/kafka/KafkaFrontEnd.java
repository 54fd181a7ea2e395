package io.switchboard.kafka;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.Listeners;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.ServerContext;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Kafka listener (docs/kafka.md): a length-prefixed frame decoder and one {@link
 * KafkaConnection} per connection. Started and closed by the server's thread.
 */
public final class KafkaFrontEnd implements FrontEnd {
  public static final ConfigKey<Integer> PORT =
      new ConfigKey<>(
          "kafka.port",
          "9092",
          "Port of the Kafka listener (Kafka's own); 0 picks a free port, -1 turns it off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> TLS_PORT =
      new ConfigKey<>(
          "kafka.tls-port",
          "-1",
          "Port of Kafka over TLS (SSL and SASL_SSL clients; needs tls.cert and tls.key); -1 (the"
              + " default) turns it off, 0 picks a free port. Set kafka.port to -1 for TLS only.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> MAX_REQUEST_BYTES =
      new ConfigKey<>(
          "kafka.max-request-bytes",
          "104857600",
          "Largest Kafka request accepted (100 MiB, Kafka's socket.request.max.bytes); a larger"
              + " declared size closes the connection before anything is buffered.",
          ConfigKey.intIn(1024, Integer.MAX_VALUE - 4));

  public static final ConfigKey<Integer> MAX_CONNECTIONS =
      new ConfigKey<>(
          "kafka.max-connections",
          "10000",
          "Kafka connections open at once; past it new connections are closed at once.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_IN_FLIGHT =
      new ConfigKey<>(
          "kafka.max-in-flight",
          "100",
          "Requests one Kafka connection may have unanswered (answers go out in request order);"
              + " past it the connection is not read until answers catch up.",
          ConfigKey.intIn(1, 10_000));

  public static final ConfigKey<String> AUTO_CREATE_TOPICS =
      new ConfigKey<>(
          "kafka.auto-create-topics",
          "true",
          "Whether a Metadata request that allows it creates an unknown topic (Kafka's"
              + " auto.create.topics.enable).",
          ConfigKey.oneOf("true", "false"));

  public static final ConfigKey<Integer> DEFAULT_PARTITIONS =
      new ConfigKey<>(
          "kafka.default-partitions",
          "1",
          "Partitions of a topic created without a count (Kafka's num.partitions).",
          ConfigKey.intIn(1, 1024));

  public static final ConfigKey<String> ADVERTISED_HOST =
      new ConfigKey<>(
          "kafka.advertised-host",
          "",
          "Host name Metadata gives clients for this broker; empty: the address each client"
              + " connected to.",
          text -> text.trim());

  public static final ConfigKey<Integer> TRANSACTION_MAX_BYTES =
      new ConfigKey<>(
          "kafka.transaction-max-bytes",
          "33554432",
          "Bytes of records one Kafka transaction may hold until it ends (32 MiB): the server keeps"
              + " them until the commit; past it a produce is refused (RECORD_LIST_TOO_LARGE) and the"
              + " transaction can only abort.",
          ConfigKey.intIn(1024, Integer.MAX_VALUE));

  public static final ConfigKey<Integer> TRANSACTIONS_MAX_BYTES =
      new ConfigKey<>(
          "kafka.transactions-max-bytes",
          "268435456",
          "Bytes of records all open Kafka transactions together may hold (256 MiB); past it a"
              + " transactional produce is refused (RECORD_LIST_TOO_LARGE).",
          ConfigKey.intIn(1024, Integer.MAX_VALUE));

  public static final ConfigKey<Integer> TRANSACTIONAL_IDS_MAX =
      new ConfigKey<>(
          "kafka.transactional-ids-max",
          "100000",
          "Transactional ids the server keeps; past it InitProducerId for a new one is refused"
              + " (POLICY_VIOLATION).",
          ConfigKey.intIn(1, 10_000_000));

  public static final ConfigKey<Integer> TRANSACTION_MAX_TIMEOUT_MS =
      new ConfigKey<>(
          "kafka.transaction-max-timeout-ms",
          "900000",
          "Largest transaction.timeout.ms a producer may ask for (Kafka's"
              + " transaction.max.timeout.ms, 15 min); more is INVALID_TRANSACTION_TIMEOUT.",
          ConfigKey.intIn(1, Integer.MAX_VALUE));

  public static final ConfigKey<Integer> CONSUMER_HEARTBEAT_INTERVAL_MS =
      new ConfigKey<>(
          "kafka.consumer-heartbeat-interval-ms",
          "5000",
          "How often members of consumer-protocol groups (KIP-848, group.protocol=consumer)"
              + " heartbeat (Kafka's group.consumer.heartbeat.interval.ms); a rebalance step"
              + " waits for the next heartbeat.",
          ConfigKey.intIn(100, 60_000));

  public static final ConfigKey<Integer> CONSUMER_SESSION_TIMEOUT_MS =
      new ConfigKey<>(
          "kafka.consumer-session-timeout-ms",
          "45000",
          "How long a member of a consumer-protocol group may stay silent before it is removed"
              + " and its partitions go to the others (Kafka's group.consumer.session.timeout.ms).",
          ConfigKey.intIn(1_000, 1_800_000));

  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(KafkaFrontEnd.class);

  private ChannelGroup channels;
  private KafkaGroups groups;
  private KafkaTransactions txns;
  private KafkaShareGroups shares;
  private Channel listener;
  private Channel tlsListener;

  @Override
  public String name() {
    return "kafka";
  }

  @Override
  public List<ConfigKey<?>> configKeys() {
    List<ConfigKey<?>> keys = new java.util.ArrayList<>(KafkaShareGroups.CONFIG_KEYS);
    keys.addAll(
        List.of(
            PORT,
            TLS_PORT,
            MAX_REQUEST_BYTES,
            MAX_CONNECTIONS,
            MAX_IN_FLIGHT,
            AUTO_CREATE_TOPICS,
            DEFAULT_PARTITIONS,
            ADVERTISED_HOST,
            TRANSACTION_MAX_BYTES,
            TRANSACTIONS_MAX_BYTES,
            TRANSACTIONAL_IDS_MAX,
            TRANSACTION_MAX_TIMEOUT_MS,
            CONSUMER_HEARTBEAT_INTERVAL_MS,
            CONSUMER_SESSION_TIMEOUT_MS));
    return keys;
  }

  @Override
  public Optional<InetSocketAddress> start(ServerContext context) throws InterruptedException {
    ServerConfig config = context.config();
    int port = config.get(PORT);
    if (port < 0 && config.get(TLS_PORT) < 0) {
      return Optional.empty();
    }
    KafkaSettings settings =
        new KafkaSettings(
            config.get(MAX_REQUEST_BYTES),
            config.get(MAX_CONNECTIONS),
            config.get(MAX_IN_FLIGHT),
            Boolean.parseBoolean(config.get(AUTO_CREATE_TOPICS)),
            config.get(DEFAULT_PARTITIONS),
            config.get(ADVERTISED_HOST));
    ProtocolMeters meters = new ProtocolMeters(context.meters(), name());
    groups =
        new KafkaGroups(
                context.workers().next(),
                System::currentTimeMillis,
                KafkaApis.generationsOf(context.broker()),
                new KafkaConsumerGroups.Settings(
                    config.get(CONSUMER_HEARTBEAT_INTERVAL_MS),
                    config.get(CONSUMER_SESSION_TIMEOUT_MS)),
                KafkaApis.partitionsOf(context.broker()))
            .start();
    txns =
        KafkaTransactions.open(
            context.broker(),
            context.workers().next(),
            System::currentTimeMillis,
            new KafkaTransactions.Limits(
                config.get(TRANSACTION_MAX_BYTES),
                config.get(TRANSACTIONS_MAX_BYTES),
                config.get(TRANSACTIONAL_IDS_MAX),
                config.get(TRANSACTION_MAX_TIMEOUT_MS)));
    KafkaApis apis = new KafkaApis(context.broker(), settings, groups, txns, context.tracing());
    shares =
        new KafkaShareGroups(
                context.broker(),
                KafkaShareGroups.settingsOf(config),
                context.workers().next(),
                System::currentTimeMillis)
            .start();
    apis.shareGroups(shares);
    AtomicInteger open = new AtomicInteger();
    channels = new DefaultChannelGroup("kafka", GlobalEventExecutor.INSTANCE);
    java.util.function.Consumer<io.netty.channel.socket.SocketChannel> pipeline =
        ch -> {
          if (!Listeners.admit(ch, open, settings.maxConnections(), "kafka")) {
            return;
          }
          channels.add(ch);
          KafkaSession session = new KafkaSession(context.security(), Listeners.isTls(ch));
          ch.pipeline()
              .addLast("frames", new KafkaSession.Frames(settings.maxRequestBytes(), session))
              .addLast("kafka", new KafkaConnection(apis, settings, meters, session));
        };
    tlsListener = Listeners.tls(context, TLS_PORT, b -> {}, pipeline).orElse(null);
    if (port < 0) {
      InetSocketAddress tlsBound = (InetSocketAddress) tlsListener.localAddress();
      LOG.info("kafka listening on {} (TLS only)", tlsBound);
      return Optional.of(tlsBound);
    }
    listener = Listeners.tcp(context, port, b -> {}, pipeline);
    InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
    LOG.info("kafka listening on {}", bound);
    return Optional.of(bound);
  }

  /** The TLS listener ({@code kafka.tls-port}), reported as the server's {@code kafka-tls}. */
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
    if (groups != null) {
      groups.close();
    }
    if (txns != null) {
      txns.close();
    }
    if (shares != null) {
      shares.close();
    }
  }
}
