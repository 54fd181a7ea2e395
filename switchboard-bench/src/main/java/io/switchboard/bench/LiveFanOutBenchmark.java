package io.switchboard.bench;

import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * Live fan-out: one publish of a 100-byte message to {@code subscribers} live subscriptions on one
 * subject. Each subscription drains on the publishing thread (a direct executor), so one op is the
 * whole cost of matching, buffering and handing the message to every sink, with no drops.
 * Deliveries per second = ops/s × subscribers.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar LiveFanOutBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class LiveFanOutBenchmark {
  @Param({"1", "10", "100"})
  public int subscribers;

  LiveBus bus;
  long received;
  final Message message = Message.of("prices.eu.acme", new byte[100], 0);

  @Setup
  public void subscribe() {
    bus = new LiveBus(LiveBusConfig.DEFAULTS, Clock.SYSTEM);
    for (int i = 0; i < subscribers; i++) {
      bus.subscribe(
          i % 2 == 0 ? "prices.eu.acme" : "prices.*.acme", null, m -> received++, Runnable::run);
    }
  }

  @TearDown
  public void close() {
    if (received == 0) {
      throw new IllegalStateException("nothing was delivered");
    }
    bus.close();
  }

  @Benchmark
  public int publish() {
    return bus.publish(message);
  }
}
