package io.switchboard.bench;

import io.switchboard.log.AppendResult;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Append throughput of one partition log. Each operation appends one batch and waits for its
 * acknowledgement (under {@code ALWAYS}: the fsync that covers it). Records per second = ops/s ×
 * {@code batchRecords}. A fresh log per iteration keeps the disk from filling.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar LogAppendBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class LogAppendBenchmark {

  /** The log, shared by every appending thread of a benchmark. */
  @State(Scope.Benchmark)
  public static class LogState {
    @Param({"NEVER", "INTERVAL", "ALWAYS"})
    public FsyncPolicy fsync;

    Path dir;
    PartitionLog log;

    @Setup(Level.Iteration)
    public void open() {
      dir = BenchLogs.newDir("append");
      log = PartitionLog.open(dir, LogConfig.defaults(fsync));
    }

    @TearDown(Level.Iteration)
    public void close() {
      log.close();
      BenchLogs.delete(dir);
    }
  }

  /** One prebuilt batch per thread; appends copy it, as a producer's fresh batch would be. */
  @State(Scope.Thread)
  public static class BatchState {
    @Param({"100", "1024"})
    public int recordBytes;

    @Param({"1", "100"})
    public int batchRecords;

    ByteBuffer template;

    @Setup
    public void build() {
      template = BenchLogs.batch(batchRecords, recordBytes, Thread.currentThread().threadId());
    }

    ByteBuffer next() {
      return ByteBuffer.allocate(template.remaining()).put(template.duplicate()).flip();
    }
  }

  @Benchmark
  @Threads(1)
  public AppendResult append1(LogState log, BatchState batch) {
    return log.log.append(batch.next()).join();
  }

  @Benchmark
  @Threads(16)
  public AppendResult append16(LogState log, BatchState batch) {
    return log.log.append(batch.next()).join();
  }
}
