package io.switchboard.broker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.stream.PartitionAgent;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ConsumerAgent#ackUpTo}: AMQP's basic.ack multiple=true, in delivery order per member. */
class CumulativeAckTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();
  final List<PartitionAgent> writers = new ArrayList<>();

  @AfterEach
  void close() {
    writers.forEach(PartitionAgent::close);
  }

  ConsumerAgent consumer(ConsumerConfig config, int partitions) {
    List<PartitionLog> logs = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      PartitionLog log =
          PartitionLog.open(
              dir.resolve("p" + p),
              LogConfig.defaults(FsyncPolicy.NEVER),
              new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
      writers.add(
          new PartitionAgent("S", p, log, StreamConfig.builder("S", "s.>").build(), clock, 4096));
      logs.add(log);
    }
    return new ConsumerAgent(
        "S",
        config,
        logs,
        new ConsumerState(List.of()),
        clock,
        m -> CompletableFuture.completedFuture(null),
        s -> {},
        0);
  }

  void publish(int partition, String... bodies) {
    for (String b : bodies) {
      writers
          .get(partition)
          .publish(Message.of("s.a", b.getBytes(StandardCharsets.UTF_8), 0), null);
    }
    writers.get(partition).doWork();
  }

  static List<String> bodies(List<Delivery> ds) {
    return ds.stream().map(d -> new String(d.message().payload(), StandardCharsets.UTF_8)).toList();
  }

  static <T> T run(ConsumerAgent c, CompletableFuture<T> f) {
    c.doWork();
    return f.join();
  }

  @Test
  void acknowledgesEveryDeliveryToTheMemberUpToTheGivenOneAcrossPartitions() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build(), 2);
    publish(0, "a0", "a1", "a2", "a3");
    publish(1, "b0", "b1", "b2", "b3");
    List<Delivery> mine = run(c, c.fetch("m", 4, 0));
    List<Delivery> theirs = run(c, c.fetch("other", 2, 0));
    List<Delivery> more = run(c, c.fetch("m", 10, 0));
    assertThat(mine).hasSize(4);
    assertThat(theirs).hasSize(2);
    assertThat(more).hasSize(2);
    assertThat(mine.get(0).sequence()).isLessThan(mine.get(3).sequence());
    assertThat(more.getFirst().sequence()).isGreaterThan(theirs.getLast().sequence());

    // Up to the third of m's deliveries: the first three, none of the other member's.
    assertThat(run(c, c.ackUpTo("m", mine.get(2).sequence()))).isEqualTo(3);
    assertThat(c.unacknowledged()).isEqualTo(8 - 3);
    // Again: nothing left up to there.
    assertThat(run(c, c.ackUpTo("m", mine.get(2).sequence()))).isZero();
    // Up to the last: m's remaining ones; "other" still holds its two.
    assertThat(run(c, c.ackUpTo("m", more.getLast().sequence()))).isEqualTo(1 + 2);
    assertThat(c.unacknowledged()).isEqualTo(2);
    assertThat(run(c, c.ackUpTo("other", Long.MAX_VALUE))).isEqualTo(2);
    assertThat(c.unacknowledged()).isZero();
  }

  @Test
  void aRedeliveryCountsInTheOrderItWasMadeNotByItsOffset() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build(), 1);
    publish(0, "0", "1", "2", "3");
    List<Delivery> first = run(c, c.fetch("m", 4, 0));
    // "1" goes back and is delivered again, after the others.
    Delivery one = first.get(1);
    assertThat(run(c, c.nack(one.partition(), one.offset(), one.deliveryCount(), 0, "x"))).isTrue();
    List<Delivery> again = run(c, c.fetch("m", 4, 0));
    assertThat(bodies(again)).containsExactly("1");
    assertThat(again.getFirst().sequence()).isGreaterThan(first.getLast().sequence());

    // Up to "3" (offset 3): 0, 2 and 3, but not the redelivered 1, delivered after it.
    assertThat(run(c, c.ackUpTo("m", first.getLast().sequence()))).isEqualTo(3);
    assertThat(c.unacknowledged()).isEqualTo(1);
    assertThat(run(c, c.ackUpTo("m", again.getFirst().sequence()))).isEqualTo(1);
    assertThat(c.unacknowledged()).isZero();
  }

  @Test
  void deliveriesAcknowledgedOneByOneDoNotPileUpForCumulativeAcks() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build(), 1);
    for (int round = 0; round < 50; round++) {
      String[] bodies = new String[100];
      for (int i = 0; i < bodies.length; i++) {
        bodies[i] = round + "-" + i;
      }
      publish(0, bodies);
      for (Delivery d : run(c, c.fetch("m", 100, 0))) {
        assertThat(run(c, c.ack(d.partition(), d.offset()))).isTrue();
      }
    }
    assertThat(c.unacknowledged()).isZero();
    assertThat(c.sentEntries()).isLessThanOrEqualTo(2 * 0 + 1024 + 1);
  }

  @Test
  void theMemberThatLeavesTakesItsEntriesAlong() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build(), 1);
    publish(0, "0", "1");
    List<Delivery> got = run(c, c.fetch("m", 2, 0));
    assertThat(run(c, c.leave("m"))).isTrue();
    assertThat(c.sentEntries()).isZero();
    assertThat(run(c, c.ackUpTo("m", got.getLast().sequence()))).isZero();
    assertThat(c.unacknowledged()).isEqualTo(2); // given back, waiting for redelivery
  }
}
