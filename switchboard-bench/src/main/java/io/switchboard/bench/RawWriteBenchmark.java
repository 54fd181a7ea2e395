package io.switchboard.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's raw sequential write bandwidth as the log sees it: the same bytes as one {@link
 * LogAppendBenchmark} batch written back to back with plain {@code FileChannel.write}, a new 128
 * MiB file when one fills, and one fsync per second as under the log's {@code interval} policy. No
 * validation, no index, no offsets: the ceiling the log is measured against, in the same run.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar 'RawWriteBenchmark|LogAppendBenchmark.append1'
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class RawWriteBenchmark {
  static final long FILE_BYTES = 128L << 20;
  static final long FSYNC_INTERVAL_NS = TimeUnit.SECONDS.toNanos(1);

  @Param({"100", "1024"})
  public int recordBytes;

  @Param({"1", "100"})
  public int batchRecords;

  Path dir;
  FileChannel file;
  long position;
  int files;
  long lastForceNs;
  ByteBuffer template;

  @Setup(Level.Iteration)
  public void open() throws IOException {
    template = BenchLogs.batch(batchRecords, recordBytes, 1);
    dir = BenchLogs.newDir("raw");
    files = 0;
    nextFile();
    lastForceNs = System.nanoTime();
  }

  private void nextFile() throws IOException {
    if (file != null) {
      file.force(false);
      file.close();
    }
    file =
        FileChannel.open(
            dir.resolve("raw-" + files++),
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.READ);
    position = 0;
  }

  @TearDown(Level.Iteration)
  public void close() throws IOException {
    file.close();
    file = null;
    BenchLogs.delete(dir);
  }

  @Benchmark
  public long write() throws IOException {
    // A fresh copy per write, as the log's benchmark gives it a fresh batch per append.
    ByteBuffer b = ByteBuffer.allocate(template.remaining()).put(template.duplicate()).flip();
    if (position + b.remaining() > FILE_BYTES) {
      nextFile();
    }
    while (b.hasRemaining()) {
      position += file.write(b, position);
    }
    long now = System.nanoTime();
    if (now - lastForceNs >= FSYNC_INTERVAL_NS) {
      file.force(false);
      lastForceNs = now;
    }
    return position;
  }
}
