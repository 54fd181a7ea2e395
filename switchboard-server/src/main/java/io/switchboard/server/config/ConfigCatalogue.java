package io.switchboard.server.config;

import io.switchboard.spi.config.CommonKeys;
import io.switchboard.spi.config.ConfigKey;
import java.util.List;

/**
 * Every configuration key of the server, declared once. Immutable, thread-safe. Order here is the
 * order of {@code docs/configuration.md}, which is generated from this list.
 */
public final class ConfigCatalogue {
  private ConfigCatalogue() {}

  public static final ConfigKey<String> DATA_DIR =
      new ConfigKey<>(
          "data.dir",
          "data",
          "Directory of the embedded storage (streams, consumers, delayed messages); relative to"
              + " the working directory.",
          ConfigKey.nonBlank());

  /** Declared in spi, where front ends read it. */
  public static final ConfigKey<String> BIND = CommonKeys.BIND;

  public static final ConfigKey<Integer> NATIVE_PORT =
      new ConfigKey<>(
          "native.port",
          "7400",
          "Port of the native protocol; 0 picks a free port (logged at start), -1 turns the"
              + " listener off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> NATIVE_MAX_CONNECTIONS =
      new ConfigKey<>(
          "native.max-connections",
          "10000",
          "Native connections open at once; past it a new one gets TOO_MANY_CONNECTIONS and is"
              + " closed. Bounds file descriptors and per-connection memory.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> NATIVE_MAX_FRAME_BYTES =
      new ConfigKey<>(
          "native.max-frame-bytes",
          "8388608",
          "Largest frame a client may send (8 MiB: a batch of default-sized messages). A larger"
              + " declared length is refused before anything is allocated.",
          ConfigKey.intIn(1024, 64 << 20));

  public static final ConfigKey<Integer> NATIVE_MAX_SUBSCRIPTIONS =
      new ConfigKey<>(
          "native.max-subscriptions",
          "10000",
          "Live subscriptions and push consumers per connection; bounds the subscription index a"
              + " single client can grow.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Long> NATIVE_MAX_PENDING_BYTES =
      new ConfigKey<>(
          "native.max-pending-bytes",
          "67108864",
          "Bytes waiting to be written to one connection (64 MiB): past it live messages for that"
              + " connection are dropped and counted (DROPPED); past twice it, answers and"
              + " deliveries included, the connection is cut off with SLOW_CONSUMER.",
          ConfigKey.longIn(64 * 1024, 1L << 34));

  public static final ConfigKey<Long> NATIVE_HANDSHAKE_TIMEOUT_MS =
      new ConfigKey<>(
          "native.handshake-timeout-ms",
          "10000",
          "A connection that has not sent its HELLO within this time is closed, so silent sockets"
              + " cannot hold connection slots.",
          ConfigKey.longIn(100, 3_600_000));

  public static final ConfigKey<String> LOG_FORMAT =
      new ConfigKey<>(
          "log.format",
          "text",
          "Log lines as human-readable text, or one JSON object per line for log collectors.",
          ConfigKey.oneOf("text", "json"));

  public static final ConfigKey<Integer> BROKER_RUNNER_THREADS =
      new ConfigKey<>(
          "broker.runner-threads",
          "0",
          "Threads running partition and consumer agents; 0 means one per core (agents never"
              + " block, so more would only contend).",
          ConfigKey.intIn(0, 1024));

  public static final ConfigKey<Integer> BROKER_PARTITION_QUEUE =
      new ConfigKey<>(
          "broker.partition-queue",
          "8192",
          "Publishes queued per partition before publishers get PUBLISH_BACKPRESSURE: a few duty"
              + " cycles' worth.",
          ConfigKey.intIn(2, 1 << 24));

  public static final ConfigKey<Long> BROKER_MAINTENANCE_PERIOD_MS =
      new ConfigKey<>(
          "broker.maintenance-period-ms",
          "30000",
          "How often retention and compaction run over every partition.",
          ConfigKey.longIn(100, 86_400_000));

  public static final ConfigKey<Integer> BROKER_MAX_STREAM_SUBJECTS =
      new ConfigKey<>(
          "broker.max-stream-subjects",
          "1000",
          "Subject patterns one stream may list; a create or update with more is refused"
              + " (TOO_MANY_STREAM_SUBJECTS). Use wildcards for large families of subjects.",
          ConfigKey.intIn(1, 100_000));

  /** Every key, in documentation order. */
  public static final List<ConfigKey<?>> ALL =
      List.of(
          DATA_DIR,
          BIND,
          NATIVE_PORT,
          NATIVE_MAX_CONNECTIONS,
          NATIVE_MAX_FRAME_BYTES,
          NATIVE_MAX_SUBSCRIPTIONS,
          NATIVE_MAX_PENDING_BYTES,
          NATIVE_HANDSHAKE_TIMEOUT_MS,
          LOG_FORMAT,
          BROKER_RUNNER_THREADS,
          BROKER_PARTITION_QUEUE,
          BROKER_MAINTENANCE_PERIOD_MS,
          BROKER_MAX_STREAM_SUBJECTS);
}
