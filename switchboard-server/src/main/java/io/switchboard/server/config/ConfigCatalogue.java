package io.switchboard.server.config;

import io.switchboard.security.SecurityKeys;
import io.switchboard.spi.config.CommonKeys;
import io.switchboard.spi.config.ConfigKey;
import java.util.ArrayList;
import java.util.List;

/**
 * Every configuration key of the server process, declared once; each front end declares its own
 * ({@link io.switchboard.spi.FrontEnd#configKeys()}). Immutable, thread-safe. Order here is the
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

  public static final ConfigKey<String> BROKER_QUEUE_ROUTING =
      new ConfigKey<>(
          "broker.queue-routing",
          "adaptive",
          "How a queue group picks the member a request goes to: adaptive (the less loaded of two"
              + " random members, load being its requests delivered and not yet answered, plus this"
              + " one, times its recent time to reply), least-in-flight (of two random members, the"
              + " one with fewer requests not yet answered) or round-robin. Other messages always go"
              + " round-robin.",
          ConfigKey.oneOf("adaptive", "least-in-flight", "round-robin"));

  /**
   * Every key, in documentation order: the process's, then security's ({@link SecurityKeys}), then
   * tracing's ({@link OtelKeys}).
   */
  public static final List<ConfigKey<?>> ALL = all();

  private static List<ConfigKey<?>> all() {
    List<ConfigKey<?>> keys =
        new ArrayList<>(
            List.of(
                DATA_DIR,
                BIND,
                LOG_FORMAT,
                BROKER_RUNNER_THREADS,
                BROKER_PARTITION_QUEUE,
                BROKER_MAINTENANCE_PERIOD_MS,
                BROKER_MAX_STREAM_SUBJECTS,
                BROKER_QUEUE_ROUTING));
    keys.addAll(SecurityKeys.ALL);
    keys.addAll(OtelKeys.ALL);
    return List.copyOf(keys);
  }
}
