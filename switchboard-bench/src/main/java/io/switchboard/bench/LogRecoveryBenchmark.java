package io.switchboard.bench;

import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Opening 1 GiB of cleanly closed segments (8 × 128 MiB): the time from open to a log ready for
 * appends. Each operation is open + close; close writes the clean-shutdown marker again, so every
 * open is a clean one.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar LogRecoveryBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class LogRecoveryBenchmark {
  static final long LOG_BYTES = 1L << 30;

  Path dir;
  LogConfig config = LogConfig.defaults(FsyncPolicy.NEVER);

  @Setup(Level.Trial)
  public void fill() {
    dir = BenchLogs.newDir("recovery");
    try (PartitionLog log = PartitionLog.open(dir, config)) {
      ByteBuffer template = BenchLogs.batch(100, 1024, 1);
      while (log.sizeInBytes() < LOG_BYTES) {
        log.append(ByteBuffer.allocate(template.remaining()).put(template.duplicate()).flip());
      }
    }
  }

  @TearDown(Level.Trial)
  public void delete() {
    BenchLogs.delete(dir);
  }

  @Benchmark
  public long openCleanLog() {
    try (PartitionLog log = PartitionLog.open(dir, config)) {
      return log.logEndOffset();
    }
  }
}
