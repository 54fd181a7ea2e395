package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.log.io.StorageFile;
import io.switchboard.log.io.StorageIO;
import io.switchboard.testkit.ManualClock;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MaintenanceTest {
  @TempDir Path dir;

  /** The real file system, except that writing a compaction output waits for a latch. */
  static final class StallingCompactionIO implements StorageIO {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public StorageFile open(Path path, boolean create) throws IOException {
      if (path.toString().endsWith(PartitionLog.CLEANED_SUFFIX)) {
        entered.countDown();
        try {
          if (!release.await(30, TimeUnit.SECONDS)) {
            throw new IOException("test never released the compaction");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
      return NioStorageIO.INSTANCE.open(path, create);
    }

    @Override
    public boolean exists(Path path) {
      return NioStorageIO.INSTANCE.exists(path);
    }

    @Override
    public void createDirectories(Path d) throws IOException {
      NioStorageIO.INSTANCE.createDirectories(d);
    }

    @Override
    public List<Path> list(Path d) throws IOException {
      return NioStorageIO.INSTANCE.list(d);
    }

    @Override
    public List<Path> listDirectories(Path d) throws IOException {
      return NioStorageIO.INSTANCE.listDirectories(d);
    }

    @Override
    public void deleteTree(Path d) throws IOException {
      NioStorageIO.INSTANCE.deleteTree(d);
    }

    @Override
    public void delete(Path path) throws IOException {
      NioStorageIO.INSTANCE.delete(path);
    }

    @Override
    public void move(Path from, Path to) throws IOException {
      NioStorageIO.INSTANCE.move(from, to);
    }

    @Override
    public void forceDirectory(Path d) throws IOException {
      NioStorageIO.INSTANCE.forceDirectory(d);
    }
  }

  @Test
  void appendsAndReadsProceedWhileACompactionIsStalledMidWrite() {
    StallingCompactionIO io = new StallingCompactionIO();
    LogConfig config =
        LogConfig.defaults(FsyncPolicy.ALWAYS).withSegmentBytes(4096).withCompaction(60_000, 1000);
    try (PartitionLog log =
            PartitionLog.open(dir, config, new PartitionLog.Options(io, new ManualClock(), false));
        LogMaintenance maintenance = new LogMaintenance(3_600_000)) {
      for (int i = 0; i < 60; i++) {
        log.append(TestBatches.batch(i, 1, 200, 1, 3, Compression.NONE)).join();
      }
      log.roll();
      maintenance.register(log);
      Thread compactor = Thread.ofPlatform().start(maintenance::runOnce);
      await().atMost(Duration.ofSeconds(10)).until(() -> io.entered.getCount() == 0);

      // The compaction is stuck writing its output; appends (with fsync) and reads go on.
      long before = log.logEndOffset();
      for (int i = 0; i < 50; i++) {
        AppendResult r =
            log.append(TestBatches.batch(before + i, 1, 50, 1))
                .orTimeout(10, TimeUnit.SECONDS)
                .join();
        assertThat(r.baseOffset()).isEqualTo(before + i);
      }
      assertThat(TestBatches.readAll(log)).hasSize((int) before + 50);
      assertThat(compactor.isAlive()).isTrue();

      io.release.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> !compactor.isAlive());
      assertThat(maintenance.failures()).isZero();
      List<Record> after = TestBatches.readAll(log);
      // Three keys survive from the sealed part; the 50 new records are all there.
      assertThat(after).hasSize(3 + 50);
      assertThat(after.getLast().offset()).isEqualTo(before + 49);
    }
  }

  @Test
  void aFailingLogDoesNotStopMaintenanceOfTheOthers() {
    LogConfig config =
        LogConfig.defaults(FsyncPolicy.NEVER).withSegmentBytes(2048).withRetention(-1, 4096);
    try (LogMaintenance maintenance = new LogMaintenance(3_600_000)) {
      PartitionLog closed = PartitionLog.open(dir.resolve("a"), config);
      closed.close();
      try (PartitionLog live = PartitionLog.open(dir.resolve("b"), config)) {
        for (int i = 0; i < 40; i++) {
          live.append(TestBatches.batch(i, 1, 300, 1)).join();
        }
        long sizeBefore = live.sizeInBytes();
        maintenance.register(closed);
        maintenance.register(live);
        maintenance.runOnce();
        assertThat(maintenance.failures()).isEqualTo(1);
        assertThat(live.sizeInBytes()).isLessThan(sizeBefore);
        assertThat(maintenance.passes()).isEqualTo(1);
      }
    }
  }
}
