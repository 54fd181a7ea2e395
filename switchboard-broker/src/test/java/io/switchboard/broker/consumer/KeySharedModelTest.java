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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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
 * Key-shared and group delivery against a model: a key's messages (group mode: a partition's) are
 * never in flight to two members at once, they are first delivered in offset order, and everything
 * is delivered until acknowledged, across members joining and going silent.
 */
class KeySharedModelTest {
  static final long ACK_TIMEOUT_MS = 1000;
  static final List<String> MEMBERS = List.of("a", "b", "c");

  enum Kind {
    PUBLISH,
    FETCH,
    ACK,
    NACK,
    ADVANCE
  }

  record Op(Kind kind, int a, int b) {}

  @Provide
  Arbitrary<Op> op() {
    return Combinators.combine(
            Arbitraries.of(Kind.class),
            Arbitraries.integers().between(0, 100),
            Arbitraries.integers().between(0, 100))
        .as(Op::new);
  }

  @Property(tries = 80)
  void keysStickToOneMemberAtATimeAndKeepOrder(@ForAll @Size(max = 70) List<@From("op") Op> ops)
      throws IOException {
    run(ops, DeliveryMode.KEY_SHARED);
  }

  @Property(tries = 80)
  void groupGivesEachPartitionToOneMemberAtATime(@ForAll @Size(max = 70) List<@From("op") Op> ops)
      throws IOException {
    run(ops, DeliveryMode.GROUP);
  }

  static final int PARTITIONS = 3;

  private void run(List<Op> ops, DeliveryMode mode) throws IOException {
    Path dir = TempTrees.create("keyshared");
    ManualClock clock = new ManualClock();
    List<PartitionLog> logs = new ArrayList<>();
    List<PartitionAgent> writers = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) {
      PartitionLog log =
          PartitionLog.open(
              dir.resolve("p" + p),
              LogConfig.defaults(FsyncPolicy.NEVER),
              new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
      logs.add(log);
      writers.add(
          new PartitionAgent("S", p, log, StreamConfig.builder("S", "s.>").build(), clock, 4096));
    }
    ConsumerAgent c =
        new ConsumerAgent(
            "S",
            ConsumerConfig.builder("K").mode(mode).ackTimeoutMs(ACK_TIMEOUT_MS).build(),
            logs,
            new ConsumerState(List.of()),
            clock,
            m -> CompletableFuture.completedFuture(null),
            s -> {},
            0);
    // Messages are named "partition:offset".
    Map<String, String> keyOf = new HashMap<>();
    Map<String, String> inFlightTo = new HashMap<>(); // message -> member
    Map<String, Long> deadline = new HashMap<>();
    Map<String, Long> lastFirstDelivery = new HashMap<>();
    Set<String> acked = new HashSet<>();
    List<Delivery> held = new ArrayList<>();
    try {
      for (Op op : ops) {
        long now = clock.nowMs();
        switch (op.kind()) {
          case PUBLISH -> {
            int p = op.b() % PARTITIONS;
            String key = "k" + op.a() % 4;
            long offset = logs.get(p).logEndOffset();
            writers
                .get(p)
                .publish(
                    new Message(
                        "s.x",
                        key.getBytes(StandardCharsets.UTF_8),
                        List.of(),
                        new byte[1],
                        0,
                        null),
                    null);
            writers.get(p).doWork();
            keyOf.put(p + ":" + offset, mode == DeliveryMode.GROUP ? "partition " + p : key);
          }
          case FETCH -> {
            String member = MEMBERS.get(op.b() % MEMBERS.size());
            CompletableFuture<List<Delivery>> f = c.fetch(member, 1 + op.a() % 4, 0);
            c.doWork();
            for (Map.Entry<String, Long> e : List.copyOf(deadline.entrySet())) {
              if (e.getValue() <= now) {
                inFlightTo.remove(e.getKey());
                deadline.remove(e.getKey());
              }
            }
            for (Delivery d : f.join()) {
              String o = d.partition() + ":" + d.offset();
              String key = keyOf.get(o);
              assertThat(acked).doesNotContain(o);
              for (Map.Entry<String, String> e : inFlightTo.entrySet()) {
                if (keyOf.get(e.getKey()).equals(key)) {
                  assertThat(e.getValue())
                      .as("key %s in flight to %s while delivered to %s", key, e.getValue(), member)
                      .isEqualTo(member);
                }
              }
              if (d.deliveryCount() == 1) {
                String orderKey = key + "@" + d.partition();
                assertThat(d.offset())
                    .as("first deliveries of %s ascend", orderKey)
                    .isGreaterThan(lastFirstDelivery.getOrDefault(orderKey, -1L));
                lastFirstDelivery.put(orderKey, d.offset());
              }
              inFlightTo.put(o, member);
              deadline.put(o, now + ACK_TIMEOUT_MS);
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
                String o = d.partition() + ":" + d.offset();
                acked.add(o);
                inFlightTo.remove(o);
                deadline.remove(o);
              }
            } else {
              CompletableFuture<Boolean> r =
                  c.nack(d.partition(), d.offset(), d.deliveryCount(), 0, "again");
              c.doWork();
              if (r.join()) {
                inFlightTo.remove(d.partition() + ":" + d.offset());
                deadline.remove(d.partition() + ":" + d.offset());
              }
            }
          }
          case ADVANCE -> {
            clock.ms.addAndGet(op.a() * 20L);
            c.doWork();
          }
        }
      }
      // Everyone keeps fetching and acknowledging: everything is delivered in the end.
      for (int round = 0; round < 60; round++) {
        clock.ms.addAndGet(ACK_TIMEOUT_MS / 2);
        for (String member : MEMBERS) {
          CompletableFuture<List<Delivery>> f = c.fetch(member, 100, 0);
          c.doWork();
          for (Delivery d : f.join()) {
            c.ack(d.partition(), d.offset());
            acked.add(d.partition() + ":" + d.offset());
          }
          c.doWork();
        }
      }
      assertThat(acked).isEqualTo(keyOf.keySet());
      assertThat(c.unacknowledged()).isZero();
    } finally {
      writers.forEach(PartitionAgent::close);
      TempTrees.delete(dir);
    }
  }
}
