package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** One flusher, many logs: group commit per log, thread count independent of the log count. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogFlusherTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  PartitionLog open(String name, FsyncPolicy fsync, LogFlusher flusher) {
    return PartitionLog.open(
        dir.resolve(name),
        LogConfig.defaults(fsync),
        new PartitionLog.Options(NioStorageIO.INSTANCE, clock, false, flusher));
  }

  @Test
  void onePassForcesEveryWaitingLogOnceAndCompletesWhatEachForceCovered() {
    try (LogFlusher flusher = LogFlusher.manual()) {
      List<PartitionLog> logs = new ArrayList<>();
      List<CompletableFuture<AppendResult>> acks = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        PartitionLog log = open("p" + i, FsyncPolicy.ALWAYS, flusher);
        logs.add(log);
        acks.add(log.append(TestBatches.batch(0, 2, 10, 1)));
        acks.add(log.append(TestBatches.batch(2, 2, 10, 1)));
      }
      assertThat(acks).noneMatch(CompletableFuture::isDone);
      long forcesBefore = FsyncStats.count();
      assertThat(flusher.doWork()).isEqualTo(acks.size());
      assertThat(acks).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
      assertThat(FsyncStats.count() - forcesBefore).as("one force per log").isEqualTo(3);
      assertThat(flusher.doWork()).as("nothing left").isZero();
      for (PartitionLog log : logs) {
        assertThat(log.durableOffset()).isEqualTo(4);
        log.close();
      }
      assertThat(flusher.logCount()).isZero();
    }
  }

  @Test
  void intervalLogsAreForcedWhenTheirIntervalHasPassed() {
    try (LogFlusher flusher = LogFlusher.manual();
        PartitionLog log = open("i", FsyncPolicy.INTERVAL, flusher)) {
      log.append(TestBatches.batch(0, 1, 10, 1)).join();
      flusher.doWork();
      assertThat(log.durableOffset()).isZero();
      clock.ms.addAndGet(LogConfig.defaults(FsyncPolicy.INTERVAL).fsyncIntervalMs());
      flusher.doWork();
      assertThat(log.durableOffset()).isEqualTo(1);
    }
  }

  @Test
  void manyLogsShareTheFlushersThreads() throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    List<PartitionLog> logs = new ArrayList<>();
    try (LogFlusher flusher = LogFlusher.start("sb-flush-test", 2)) {
      List<CompletableFuture<AppendResult>> acks = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        PartitionLog log = open("p" + i, FsyncPolicy.ALWAYS, flusher);
        logs.add(log);
        acks.add(log.append(TestBatches.batch(0, 1, 10, 1)));
      }
      CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      Set<String> started =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> !before.contains(t) && t.getName().startsWith("sb-flush"))
              .map(Thread::getName)
              .collect(Collectors.toSet());
      assertThat(started).containsExactlyInAnyOrder("sb-flush-test-0", "sb-flush-test-1");
      for (PartitionLog log : logs) {
        assertThat(log.durableOffset()).isEqualTo(1);
        log.close();
      }
    }
  }
}
