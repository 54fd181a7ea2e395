package io.switchboard.bench;

import io.switchboard.broker.consumer.ConsumerAgent;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerState;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.stream.PartitionAgent;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Consumer delivery cost, driven on the calling thread (no runner): {@code members} members take
 * turns fetching up to 50 messages each and acknowledging every one, over a log of 100-byte
 * messages with {@code keys} distinct keys. One op is one member's fetch plus its acks; the
 * "messages" counter gives messages delivered (and acknowledged) per second.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar KeySharedBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class KeySharedBenchmark {
  static final int MESSAGES = 2_000_000;

  @Param({"SHARED", "KEY_SHARED"})
  public DeliveryMode mode;

  @Param({"10000"})
  public int keys;

  @Param({"8"})
  public int members;

  Path dir;
  PartitionAgent writer;
  ConsumerAgent consumer;
  String[] memberNames;
  int turn;
  long delivered;

  @Setup(Level.Iteration)
  public void fill() {
    dir = BenchLogs.newDir("keyshared");
    PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(FsyncPolicy.NEVER));
    writer =
        new PartitionAgent(
            "S", 0, log, StreamConfig.builder("S", "s.>").build(), Clock.SYSTEM, 65_536);
    byte[] payload = new byte[100];
    for (int i = 0; i < MESSAGES; i++) {
      byte[] key = ("key-" + (i % keys)).getBytes(StandardCharsets.UTF_8);
      writer.publish(new Message("s.x", key, List.of(), payload, 0, null), null);
      if (i % 1000 == 999) {
        writer.doWork();
      }
    }
    writer.doWork();
    consumer =
        new ConsumerAgent(
            "S",
            ConsumerConfig.builder("C").mode(mode).maxAckPending(4000).build(),
            List.of(log),
            new ConsumerState(List.of()),
            Clock.SYSTEM,
            m -> CompletableFuture.completedFuture(null),
            s -> {},
            Long.MAX_VALUE);
    memberNames = new String[members];
    for (int m = 0; m < members; m++) {
      memberNames[m] = "member-" + m;
      consumer.fetch(memberNames[m], 1, 0); // every member is known before the first delivery
    }
    consumer.doWork();
  }

  @TearDown(Level.Iteration)
  public void close() {
    if (delivered == 0) {
      throw new IllegalStateException("nothing was delivered");
    }
    writer.close();
    BenchLogs.delete(dir);
  }

  /** Messages delivered, reported by JMH per second beside the ops. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Counts {
    public long messages;
  }

  @Benchmark
  public int fetchAndAck(Counts counts) {
    String member = memberNames[turn++ % memberNames.length];
    CompletableFuture<List<Delivery>> f = consumer.fetch(member, 50, 0);
    consumer.doWork();
    List<Delivery> got = f.join();
    for (Delivery d : got) {
      consumer.ack(d.partition(), d.offset());
    }
    consumer.doWork();
    delivered += got.size();
    counts.messages += got.size();
    return got.size();
  }
}
