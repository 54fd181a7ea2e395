package io.switchboard.nativ;

import io.switchboard.spi.config.ConfigKey;
import java.util.List;

/**
 * The native front end's configuration keys ({@code native.*}), declared once. Immutable,
 * thread-safe. Order here is their order in {@code docs/configuration.md}.
 */
public final class NativeKeys {
  private NativeKeys() {}

  public static final ConfigKey<Integer> PORT =
      new ConfigKey<>(
          "native.port",
          "7400",
          "Port of the native protocol; 0 picks a free port (logged at start), -1 turns the"
              + " listener off.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> TLS_PORT =
      new ConfigKey<>(
          "native.tls-port",
          "-1",
          "Port of the native protocol over TLS (needs tls.cert and tls.key); -1 (the default)"
              + " turns it off, 0 picks a free port. Set native.port to -1 for TLS only.",
          ConfigKey.intIn(-1, 65535));

  public static final ConfigKey<Integer> MAX_CONNECTIONS =
      new ConfigKey<>(
          "native.max-connections",
          "10000",
          "Native connections open at once; past it a new one gets TOO_MANY_CONNECTIONS and is"
              + " closed. Bounds file descriptors and per-connection memory.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Integer> MAX_FRAME_BYTES =
      new ConfigKey<>(
          "native.max-frame-bytes",
          "8388608",
          "Largest frame a client may send (8 MiB: a batch of default-sized messages). A larger"
              + " declared length is refused before anything is allocated.",
          ConfigKey.intIn(1024, 64 << 20));

  public static final ConfigKey<Integer> MAX_SUBSCRIPTIONS =
      new ConfigKey<>(
          "native.max-subscriptions",
          "10000",
          "Live subscriptions and push consumers per connection; bounds the subscription index a"
              + " single client can grow.",
          ConfigKey.intIn(1, 1_000_000));

  public static final ConfigKey<Long> MAX_PENDING_BYTES =
      new ConfigKey<>(
          "native.max-pending-bytes",
          "67108864",
          "Bytes waiting to be written to one connection (64 MiB): past it live messages for that"
              + " connection are dropped and counted (DROPPED); past twice it, answers and"
              + " deliveries included, the connection is cut off with SLOW_CONSUMER.",
          ConfigKey.longIn(64 * 1024, 1L << 34));

  public static final ConfigKey<Long> HANDSHAKE_TIMEOUT_MS =
      new ConfigKey<>(
          "native.handshake-timeout-ms",
          "10000",
          "A connection that has not sent its HELLO within this time is closed, so silent sockets"
              + " cannot hold connection slots.",
          ConfigKey.longIn(100, 3_600_000));

  /** Every key, in documentation order. */
  public static final List<ConfigKey<?>> ALL =
      List.of(
          PORT,
          TLS_PORT,
          MAX_CONNECTIONS,
          MAX_FRAME_BYTES,
          MAX_SUBSCRIPTIONS,
          MAX_PENDING_BYTES,
          HANDSHAKE_TIMEOUT_MS);
}
