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
import io.switchboard.testkit.TempTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Exclusive and failover consumers keep order: with one reader, every fetch hands out offsets in
 * increasing order, messages are delivered for the first time in increasing offset order, and
 * nothing acknowledged comes back — whatever mix of publishes, acks, nacks and timeouts.
 */
class SingleReaderOrderModelTest {
  enum Kind {
    PUBLISH,
    FETCH,
    ACK,
    NACK,
    ADVANCE
  }

  record Op(Kind kind, int a) {}

  @Provide
  Arbitrary<Op> op() {
    return Combinators.combine(Arbitraries.of(Kind.class), Arbitraries.integers().between(0, 100))
        .as(Op::new);
  }

  @Property(tries = 80)
  void exclusiveKeepsOrder(@ForAll @Size(max = 60) List<@From("op") Op> ops) throws IOException {
    run(ops, DeliveryMode.EXCLUSIVE);
  }

  @Property(tries = 80)
  void failoverKeepsOrder(@ForAll @Size(max = 60) List<@From("op") Op> ops) throws IOException {
    run(ops, DeliveryMode.FAILOVER);
  }

  private void run(List<Op> ops, DeliveryMode mode) throws IOException {
    Path dir = TempTrees.create("order");
    ManualClock clock = new ManualClock();
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    PartitionAgent writer =
        new PartitionAgent("S", 0, log, StreamConfig.builder("S", "s.>").build(), clock, 4096);
    ConsumerAgent c =
        new ConsumerAgent(
            "S",
            ConsumerConfig.builder("C").mode(mode).ackTimeoutMs(1000).build(),
            List.of(log),
            new ConsumerState(List.of()),
            clock,
            m -> CompletableFuture.completedFuture(null),
            s -> {},
            0);
    Set<Long> acked = new HashSet<>();
    long lastFirstDelivery = -1;
    List<Delivery> held = new ArrayList<>();
    try {
      for (Op op : ops) {
        switch (op.kind()) {
          case PUBLISH -> {
            writer.publish(Message.of("s.x", "m".getBytes(StandardCharsets.UTF_8), 0), null);
            writer.doWork();
          }
          case FETCH -> {
            CompletableFuture<List<Delivery>> f = c.fetch("only", 1 + op.a() % 5, 0);
            c.doWork();
            long previous = -1;
            for (Delivery d : f.join()) {
              assertThat(d.offset()).as("offsets within a fetch ascend").isGreaterThan(previous);
              previous = d.offset();
              assertThat(acked).doesNotContain(d.offset());
              if (d.deliveryCount() == 1) {
                assertThat(d.offset())
                    .as("first deliveries ascend")
                    .isGreaterThan(lastFirstDelivery);
                lastFirstDelivery = d.offset();
              }
              held.add(d);
            }
          }
          case ACK, NACK -> {
            if (held.isEmpty()) {
              continue;
            }
            Delivery d = held.remove(op.a() % held.size());
            if (op.kind() == Kind.ACK) {
              CompletableFuture<Boolean> r = c.ack(d.partition(), d.offset());
              c.doWork();
              if (r.join()) {
                acked.add(d.offset());
              }
            } else {
              c.nack(d.partition(), d.offset(), d.deliveryCount(), 0, "again");
              c.doWork();
            }
          }
          case ADVANCE -> {
            clock.ms.addAndGet(op.a() * 20L);
            c.doWork();
          }
        }
      }
    } finally {
      writer.close();
      TempTrees.delete(dir);
    }
  }
}
