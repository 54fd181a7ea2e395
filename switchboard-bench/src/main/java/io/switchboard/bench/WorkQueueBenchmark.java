package io.switchboard.bench;

import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.Retention;
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
 * A work queue in process: 100 messages of 1 KiB published to a work-queue stream (persisted,
 * acknowledged), fetched through a shared consumer, and each acknowledged. One op moves 100
 * messages through the whole path; messages per second = ops/s × 100. The broker runs its real
 * partition and consumer threads.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar WorkQueueBenchmark
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
public class WorkQueueBenchmark {
  static final int BATCH = 100;

  @Param({"NEVER", "ALWAYS"})
  public FsyncPolicy fsync;

  Path dir;
  Broker broker;
  final Message message = Message.of("jobs.resize", new byte[1024], 0);

  @Setup(Level.Trial)
  public void open() {
    dir = BenchLogs.newDir("workqueue");
    broker =
        Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 8192, 30_000), Clock.SYSTEM);
    broker.createStream(
        StreamConfig.builder("JOBS", "jobs.>")
            .retention(Retention.WORK_QUEUE)
            .fsync(fsync)
            .build());
    broker.createConsumer("JOBS", ConsumerConfig.builder("workers").maxAckPending(10_000).build());
  }

  @TearDown(Level.Trial)
  public void close() {
    broker.close();
    BenchLogs.delete(dir);
  }

  @Benchmark
  public int publishFetchAck() {
    List<CompletableFuture<PublishAck>> published = new ArrayList<>(BATCH);
    for (int i = 0; i < BATCH; i++) {
      published.add(broker.publish(message, PublishOptions.NONE));
    }
    published.forEach(CompletableFuture::join);
    int received = 0;
    List<CompletableFuture<Boolean>> acks = new ArrayList<>(BATCH);
    while (received < BATCH) {
      for (Delivery d : broker.fetch("JOBS", "workers", "bench", BATCH - received, 1000).join()) {
        acks.add(broker.ack("JOBS", "workers", d.partition(), d.offset()));
        received++;
      }
    }
    acks.forEach(CompletableFuture::join);
    return received;
  }
}
