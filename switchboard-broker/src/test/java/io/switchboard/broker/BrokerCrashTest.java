package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.stream.PublishAck;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker killed with SIGKILL (by PID) at random moments while publishing with {@code
 * fsync=always}, 20 times over the same data directory. After every kill: every acknowledged
 * publish is stored exactly where its acknowledgement said, and a producer retrying the last
 * acknowledged message ids gets duplicates back, not new copies.
 */
class BrokerCrashTest {
  static final int KILLS = 20;

  @TempDir Path dir;

  @Test
  void noAcknowledgedPublishIsLostAndRetriesAreNotStoredTwice() throws Exception {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Random random = new Random(seed);
    Map<Long, long[]> acked = new HashMap<>(); // message number -> partition, offset
    long next = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      int killAfter = 1 + random.nextInt(120);
      Process child = start(next);
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        int acks = 0;
        while ((line = out.readLine()) != null) {
          if (line.startsWith("ACK ")) {
            String[] f = line.split(" ");
            long n = Long.parseLong(f[1]);
            acked.put(n, new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])});
            next = Math.max(next, n + 1);
            if (++acks == killAfter) {
              ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly();
            }
          }
        }
      } finally {
        child.destroyForcibly();
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      // Round up to the child's window so unacknowledged numbers are never reused.
      next = (next + 3) / 4 * 4;

      try (Broker b = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM)) {
        Map<String, long[]> stored = new HashMap<>();
        for (int p = 0; p < 3; p++) {
          long offset = b.streamInfo("CRASH").partitions().get(p).firstOffset();
          while (true) {
            var batches = b.read("CRASH", p, offset, 1 << 20).batches();
            if (batches.isEmpty()) {
              break;
            }
            for (RecordBatch batch : batches) {
              for (Record r : batch.records(1 << 20)) {
                String body = new String(r.valueBytes(), StandardCharsets.UTF_8);
                long[] previous = stored.put(body, new long[] {p, r.offset()});
                assertThat(previous).as("seed %d: %s stored twice", seed, body).isNull();
              }
              offset = batch.nextOffset();
            }
          }
        }
        for (Map.Entry<Long, long[]> e : acked.entrySet()) {
          long[] where = stored.get("m-" + e.getKey());
          assertThat(where)
              .as("seed %d kill %d: acknowledged m-%d is stored", seed, kill, e.getKey())
              .isNotNull();
          assertThat(where)
              .as("seed %d: m-%d where its ack said", seed, e.getKey())
              .containsExactly(e.getValue());
        }
        // A producer retrying its last acknowledged messages after the crash: no new copies.
        for (long n = Math.max(0, next - 8); n < next; n++) {
          if (acked.containsKey(n)) {
            PublishAck retry =
                b.publish(
                        Message.of(
                            "crash.k" + (n % 7), ("m-" + n).getBytes(StandardCharsets.UTF_8), 0),
                        PublishOptions.messageId("m-" + n))
                    .join();
            assertThat(retry.duplicate()).as("seed %d: retry of m-%d", seed, n).isTrue();
            assertThat(new long[] {retry.partition(), retry.offset()})
                .containsExactly(acked.get(n));
          }
        }
      }
    }
    assertThat(acked).hasSizeGreaterThan(KILLS);
  }

  private Process start(long first) throws IOException {
    return ChildJvm.start(CrashPublisher.class, dir.toString(), Long.toString(first));
  }
}
