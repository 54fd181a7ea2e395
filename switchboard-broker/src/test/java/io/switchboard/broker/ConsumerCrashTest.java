package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.Delivery;
import io.switchboard.core.Clock;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker that publishes to and works a work-queue stream is killed with SIGKILL (by PID) at
 * random moments, 12 times. Afterwards the consumer resumes from its saved cursor, nothing
 * published is lost (each message is acknowledged at least once over all runs), and the queue is
 * empty once everything is acknowledged.
 */
class ConsumerCrashTest {
  static final int KILLS = 12;

  @TempDir Path dir;

  @Test
  void everyPublishedMessageIsWorkedAndTheQueueEndsEmpty() throws Exception {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Random random = new Random(seed);
    Set<String> published = new HashSet<>();
    Set<String> acked = new HashSet<>();
    long next = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      int killAfter = 5 + random.nextInt(200);
      Process child = start(next);
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        int lines = 0;
        while ((line = out.readLine()) != null) {
          if (line.startsWith("PUB ")) {
            long n = Long.parseLong(line.substring(4));
            published.add("m-" + n);
            next = Math.max(next, n + 1);
          } else if (line.startsWith("ACK ")) {
            acked.add(line.substring(4));
          }
          if (++lines == killAfter) {
            ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly();
          }
        }
      } finally {
        child.destroyForcibly();
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      // The publish that was in flight at the kill may or may not have been stored; skip its
      // number so a later run never reuses its message id.
      next++;
    }
    try (Broker b = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM)) {
      Set<String> drained = new HashSet<>();
      while (true) {
        List<Delivery> got = b.fetch("WQ", "w", "parent", 100, 2500).join();
        if (got.isEmpty()) {
          break;
        }
        for (Delivery d : got) {
          drained.add(new String(d.message().payload(), StandardCharsets.UTF_8));
          b.ack("WQ", "w", d.partition(), d.offset()).join();
        }
      }
      Set<String> worked = new HashSet<>(acked);
      worked.addAll(drained);
      assertThat(worked)
          .as("seed %d: every acknowledged publish was worked", seed)
          .containsAll(published);
      // The cursor was saved: the drain saw only what the runs had not finished, not everything.
      assertThat(drained.size()).as("seed %d", seed).isLessThan(published.size());
      await().atMost(Duration.ofSeconds(10)).until(() -> b.streamInfo("WQ").messages() == 0);
    }
    assertThat(published).hasSizeGreaterThan(KILLS);
  }

  private Process start(long first) throws IOException {
    return ChildJvm.start(CrashWorker.class, dir.toString(), Long.toString(first));
  }
}
