package io.switchboard.bench;

import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
 * Persisted publish under {@code fsync=always} through the broker in process, spread over a
 * stream's partitions: one op publishes 64 messages of 100 B (a different subject each, so they
 * spread over the partitions) and waits for all 64 acknowledgements, each after the fsync that
 * covers it. Messages per second = ops/s × 64. It measures what the flusher threads give: one per
 * partition log before issue 13, a shared few after it.
 *
 * <pre>
 * java -Dbench.dir=DIR -jar switchboard-bench/target/switchboard-bench.jar PartitionedPublishBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class PartitionedPublishBenchmark {
  static final int BATCH = 64;

  @Param({"1", "16"})
  public int partitions;

  Path dir;
  Broker broker;
  final List<Message> messages = new ArrayList<>();

  @Setup(Level.Trial)
  public void open() {
    dir = BenchLogs.newDir("partitioned");
    broker =
        Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 8192, 30_000), Clock.SYSTEM);
    broker.createStream(
        StreamConfig.builder("P", "p.>").partitions(partitions).fsync(FsyncPolicy.ALWAYS).build());
    for (int i = 0; i < BATCH; i++) {
      messages.add(Message.of("p.k" + i, new byte[100], 0));
    }
  }

  @TearDown(Level.Trial)
  public void close() {
    broker.close();
    BenchLogs.delete(dir);
  }

  @Benchmark
  public int publishAlways() {
    List<CompletableFuture<PublishAck>> acks = new ArrayList<>(BATCH);
    for (Message m : messages) {
      acks.add(broker.publish(m, PublishOptions.NONE));
    }
    acks.forEach(CompletableFuture::join);
    return acks.size();
  }
}
