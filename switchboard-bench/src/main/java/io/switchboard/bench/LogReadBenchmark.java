package io.switchboard.bench;

import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.LogReadResult;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.RecordBatch;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * Sequential reads of a 512 MiB log of 1 KiB records in batches of 100, 1 MiB per read, from the
 * page cache: as parsed batches (heap copy) and as zero-copy file regions sent to a discarding
 * channel. Bytes per second = ops/s × 1 MiB.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar LogReadBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class LogReadBenchmark {
  static final int READ_BYTES = 1 << 20;

  @Param({"536870912"})
  public long logBytes;

  Path dir;
  PartitionLog log;
  long offset;
  int batchBytes;

  /** Discards what it is given, like a socket that is always writable. */
  static final class NullChannel implements WritableByteChannel {
    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      src.position(src.limit());
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  final NullChannel sink = new NullChannel();

  @Setup(Level.Trial)
  public void fill() {
    dir = BenchLogs.newDir("read");
    log = PartitionLog.open(dir, LogConfig.defaults(FsyncPolicy.NEVER));
    ByteBuffer template = BenchLogs.batch(100, 1024, 1);
    batchBytes = template.remaining();
    while (log.sizeInBytes() < logBytes) {
      log.append(ByteBuffer.allocate(template.remaining()).put(template.duplicate()).flip());
    }
  }

  @TearDown(Level.Trial)
  public void close() {
    log.close();
    BenchLogs.delete(dir);
  }

  private LogReadResult nextRead() {
    if (offset >= log.logEndOffset()) {
      offset = 0;
    }
    return log.read(offset, READ_BYTES);
  }

  @Benchmark
  public void parsedBatches(Blackhole bh) {
    List<RecordBatch> batches = nextRead().batches();
    offset = batches.getLast().nextOffset();
    bh.consume(batches);
  }

  @Benchmark
  public long zeroCopyRegion() {
    LogReadResult r = nextRead();
    long sent = r.transferTo(sink);
    // Every batch has the same size, so whole batches sent tell where the next read starts; a
    // partial batch at the end is read again, as a Kafka consumer would.
    offset += Math.max(1, sent / batchBytes) * 100;
    return sent;
  }
}
