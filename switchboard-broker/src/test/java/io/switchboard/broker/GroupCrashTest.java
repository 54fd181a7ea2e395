package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.group.CommittedOffset;
import io.switchboard.broker.group.GroupInfo;
import io.switchboard.broker.group.StreamPartition;
import io.switchboard.core.Clock;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker killed with SIGKILL (by PID) at random moments while a member commits offsets, 6 times
 * over the same data directory. After every kill: the group's generation is at least the last one
 * acknowledged, and each partition's committed offset is at least the last commit acknowledged
 * (commits only grow here), and one that was really committed.
 */
class GroupCrashTest {
  static final int KILLS = 6;

  @TempDir Path dir;

  @Test
  void noAcknowledgedCommitOrGenerationIsLost() throws Exception {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Random random = new Random(seed);
    long next = 0;
    long lastAcked = -1;
    int lastGeneration = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      int killAfter = 1 + random.nextInt(60);
      Process child = ChildJvm.start(CrashCommitter.class, dir.toString(), Long.toString(next));
      long sent = next;
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        int acks = 0;
        while ((line = out.readLine()) != null) {
          if (line.startsWith("GEN ")) {
            lastGeneration = Integer.parseInt(line.substring(4));
          } else if (line.startsWith("ACK ")) {
            lastAcked = Math.max(lastAcked, Long.parseLong(line.substring(4)));
            if (++acks == killAfter) {
              ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly();
            }
          }
        }
      } finally {
        child.destroyForcibly();
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      next = lastAcked + 1 + 2; // past whatever was in flight at the kill

      try (Broker b = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM)) {
        GroupInfo info = b.groups().describe("g").orElseThrow();
        assertThat(info.generation())
            .as("seed %d kill %d: generation", seed, kill)
            .isGreaterThanOrEqualTo(lastGeneration);
        Map<StreamPartition, CommittedOffset> offsets = b.groups().fetch("g", null);
        for (int p = 0; p < 2; p++) {
          CommittedOffset c = offsets.get(new StreamPartition("C", p));
          if (lastAcked >= sent) {
            assertThat(c).as("seed %d kill %d: partition %d", seed, kill, p).isNotNull();
          }
          if (c != null) {
            assertThat(c.offset())
                .as("seed %d kill %d: partition %d offset", seed, kill, p)
                .isGreaterThanOrEqualTo(lastAcked)
                .isLessThan(next);
          }
        }
      }
    }
    assertThat(lastAcked).isGreaterThan(KILLS);
  }
}
