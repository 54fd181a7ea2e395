package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.format.Record;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real process crash: a child JVM appends with {@code fsync=always} and prints each acknowledged
 * offset; the test kills it with SIGKILL (by its PID) after a random number of acknowledgements,
 * while it is appending, 20 times over the same log. After every kill, every acknowledged record is
 * read back identical and the log continues right after what it kept.
 */
class ProcessCrashTest {
  static final int KILLS = 20;
  static final int VALUE_SIZE = 300;

  @TempDir Path dir;

  @Test
  void everyAcknowledgedRecordSurvivesSigkill() throws Exception {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Random random = new Random(seed);
    long acknowledgedEnd = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      int killAfter = 1 + random.nextInt(150);
      Process child = startChild();
      List<String> lines = new ArrayList<>();
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        int acks = 0;
        while ((line = out.readLine()) != null) {
          lines.add(line);
          if (line.startsWith("ACK ") && ++acks == killAfter) {
            // SIGKILL by PID: no shutdown hook, no close, nothing flushed on the way out.
            ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly();
          }
        }
      } finally {
        child.destroyForcibly();
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).as("killed by signal 9").isEqualTo(137);
      long lastAcked = -1;
      for (String line : lines) {
        assertThat(line).as("seed %d", seed).doesNotStartWith("ERROR");
        if (line.startsWith("ACK ")) {
          lastAcked = Long.parseLong(line.split(" ")[2]);
        }
      }
      assertThat(lastAcked).as("seed %d: child acknowledged something", seed).isGreaterThan(-1);
      acknowledgedEnd = Math.max(acknowledgedEnd, lastAcked + 1);

      try (PartitionLog log =
          PartitionLog.open(
              dir,
              LogConfig.defaults(FsyncPolicy.ALWAYS)
                  .withSegmentBytes(64 * 1024)
                  .withIndexIntervalBytes(1024))) {
        assertThat(log.logEndOffset())
            .as("seed %d kill %d: every acknowledged offset is present", seed, kill)
            .isGreaterThanOrEqualTo(acknowledgedEnd);
        List<Record> all = TestBatches.readAll(log);
        assertThat(all).hasSize((int) log.logEndOffset());
        for (Record r : all) {
          assertThat(r.valueBytes())
              .as("seed %d: record %d", seed, r.offset())
              .isEqualTo(TestBatches.valueOf(r.offset(), VALUE_SIZE));
        }
      }
    }
  }

  private Process startChild() throws IOException {
    return ChildJvm.start(CrashAppender.class, dir.toString(), Integer.toString(VALUE_SIZE));
  }
}
