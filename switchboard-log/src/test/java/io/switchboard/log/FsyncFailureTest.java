package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.SimulatedDisk;
import io.switchboard.testkit.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** One failed fsync is fatal: nothing after it is acknowledged, and the error surfaces. */
class FsyncFailureTest {
  static final Path DIR = Path.of("/sim/fsync");
  final ManualClock clock = new ManualClock();

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  @Test
  void aFailedForceFailsWaitingAppendsAndRefusesEveryLaterOne() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = LogConfig.defaults(FsyncPolicy.ALWAYS);
    PartitionLog log = PartitionLog.open(DIR, config, new PartitionLog.Options(disk, clock, true));
    List<CompletableFuture<AppendResult>> first = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      first.add(log.append(TestBatches.batch(i, 1, 50, 1)));
    }
    log.doFlushWork();
    assertThat(first).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());

    disk.failNextForce(p -> p.toString().endsWith(".log"));
    List<CompletableFuture<AppendResult>> second = new ArrayList<>();
    for (int i = 3; i < 6; i++) {
      second.add(log.append(TestBatches.batch(i, 1, 50, 1)));
    }
    log.doFlushWork();
    for (CompletableFuture<AppendResult> f : second) {
      assertThat(f).isCompletedExceptionally();
      assertThatThrownBy(f::join)
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.LOG_FSYNC_FAILED));
    }
    assertThat(log.durableOffset()).isEqualTo(3);
    assertThatThrownBy(() -> log.append(TestBatches.batch(6, 1, 50, 1)))
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.LOG_FSYNC_FAILED));
    // Even a later force that would succeed acknowledges nothing.
    assertThat(log.doFlushWork()).isZero();
    assertThat(second).noneMatch(f -> f.isDone() && !f.isCompletedExceptionally());

    // After a crash the acknowledged records are there; the failed ones may or may not be.
    disk.crash(new Random(7));
    try (PartitionLog recovered =
        PartitionLog.open(DIR, config, new PartitionLog.Options(disk, clock, true))) {
      assertThat(recovered.logEndOffset()).isGreaterThanOrEqualTo(3);
      assertThat(TestBatches.readAll(recovered).subList(0, 3))
          .allMatch(r -> TestBatches.sameValue(r, TestBatches.valueOf(r.offset(), 50)));
    }
  }

  @Test
  void aFailedForceUnderTheIntervalPolicyRefusesLaterAppends() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = LogConfig.defaults(FsyncPolicy.INTERVAL).withFsyncIntervalMs(100);
    PartitionLog log = PartitionLog.open(DIR, config, new PartitionLog.Options(disk, clock, true));
    log.append(TestBatches.batch(0, 1, 10, 1)).join();
    disk.failNextForce(p -> true);
    clock.ms.addAndGet(100);
    assertThat(log.doFlushWork()).isEqualTo(1);
    assertThatThrownBy(() -> log.append(TestBatches.batch(1, 1, 10, 1)))
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.LOG_FSYNC_FAILED));
  }

  @Test
  void aFailedForceWhileSealingASegmentIsFatalToo() {
    SimulatedDisk disk = new SimulatedDisk();
    LogConfig config = LogConfig.defaults(FsyncPolicy.NEVER).withSegmentBytes(1024);
    PartitionLog log = PartitionLog.open(DIR, config, new PartitionLog.Options(disk, clock, true));
    log.append(TestBatches.batch(0, 1, 600, 1)).join();
    disk.failNextForce(p -> true);
    assertThatThrownBy(() -> log.append(TestBatches.batch(1, 1, 600, 1)))
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.LOG_IO_ERROR));
    assertThatThrownBy(() -> log.append(TestBatches.batch(1, 1, 10, 1)))
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.LOG_IO_ERROR));
  }
}
