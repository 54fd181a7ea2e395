package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.Durability;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The broker's threads are configuration: they do not grow with partitions. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BrokerThreadsTest {
  @TempDir Path dir;

  @Test
  void fsyncAlwaysPartitionsShareTheConfiguredFlusherThreads() throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    BrokerConfig config =
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 1024, 60_000).withFlusherThreads(2);
    try (Broker b = Broker.open(config, Clock.SYSTEM)) {
      b.createStream(
          StreamConfig.builder("MANY", "many.>").partitions(32).fsync(FsyncPolicy.ALWAYS).build());
      List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
      for (int i = 0; i < 256; i++) {
        acks.add(
            b.publish(
                Message.of("many.k" + i, "x".getBytes(StandardCharsets.UTF_8), 0),
                PublishOptions.NONE));
      }
      CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      assertThat(acks).allMatch(f -> f.join().durability() == Durability.FSYNCED);
      assertThat(acks.stream().map(f -> f.join().partition()).distinct().count()).isGreaterThan(16);
      List<String> flushers =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> !before.contains(t) && t.getName().startsWith("sb-flush"))
              .map(Thread::getName)
              .toList();
      assertThat(flushers).containsExactlyInAnyOrder("sb-flush-0", "sb-flush-1");
    }
  }
}
