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
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.Size;

/**
 * Random sequences of publish, fetch, ack, nack, time passing and restarts against a shared
 * consumer, checked after every step against a model: no message is ever in flight to two
 * deliveries at once, delivery counts are exact, nothing acknowledged comes back, every published
 * message is delivered until acknowledged, and with a delivery limit a message is dead-lettered
 * after exactly that many deliveries.
 */
class SharedConsumerModelTest {
  static final long ACK_TIMEOUT_MS = 1000;

  enum Kind {
    PUBLISH,
    FETCH,
    ACK,
    NACK,
    ADVANCE,
    RESTART
  }

  record Op(Kind kind, int a, int b) {}

  @Provide
  Arbitrary<Op> op() {
    Arbitrary<Kind> kinds =
        Arbitraries.frequencyOf(
            Tuple.of(4, Arbitraries.just(Kind.PUBLISH)),
            Tuple.of(5, Arbitraries.just(Kind.FETCH)),
            Tuple.of(4, Arbitraries.just(Kind.ACK)),
            Tuple.of(2, Arbitraries.just(Kind.NACK)),
            Tuple.of(2, Arbitraries.just(Kind.ADVANCE)),
            Tuple.of(1, Arbitraries.just(Kind.RESTART)));
    return Combinators.combine(
            kinds, Arbitraries.integers().between(0, 100), Arbitraries.integers().between(0, 100))
        .as(Op::new);
  }

  /** What the model knows about one message. */
  static final class Model {
    final Set<Long> published = new HashSet<>();
    final Set<Long> acked = new HashSet<>();
    final Set<Long> deadLettered = new HashSet<>();
    final Map<Long, Integer> deliveries = new HashMap<>();

    /** In flight: offset to ack deadline. */
    final Map<Long, Long> inFlight = new HashMap<>();
  }

  @Property(tries = 60)
  void sharedDeliveryMatchesTheModel(@ForAll @Size(max = 60) List<@From("op") Op> ops)
      throws IOException {
    run(ops, -1);
  }

  @Property(tries = 60)
  void deadLetteringHappensAfterExactlyMaxDeliveries(
      @ForAll @Size(max = 60) List<@From("op") Op> ops) throws IOException {
    run(ops, 3);
  }

  private void run(List<Op> ops, int maxDeliver) throws IOException {
    Path dir = TempTrees.create("shared");
    ManualClock clock = new ManualClock();
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    PartitionAgent writer =
        new PartitionAgent("S", 0, log, StreamConfig.builder("S", "s.>").build(), clock, 4096);
    List<ConsumerState> persisted = new ArrayList<>();
    List<Message> dlq = new ArrayList<>();
    ConsumerConfig config =
        ConsumerConfig.builder("C")
            .ackTimeoutMs(ACK_TIMEOUT_MS)
            .maxDeliver(maxDeliver)
            .deadLetterSubject(maxDeliver > 0 ? "dlq.c" : null)
            .build();
    java.util.function.Supplier<ConsumerAgent> make =
        () ->
            new ConsumerAgent(
                "S",
                config,
                List.of(log),
                persisted.isEmpty() ? new ConsumerState(List.of()) : persisted.getLast(),
                clock,
                m -> {
                  dlq.add(m);
                  return CompletableFuture.completedFuture(null);
                },
                persisted::add,
                0);
    ConsumerAgent consumer = make.get();
    Model model = new Model();
    List<Delivery> outstanding = new ArrayList<>();
    try {
      for (Op op : ops) {
        switch (op.kind()) {
          case PUBLISH -> {
            int n = 1 + op.a() % 3;
            for (int i = 0; i < n; i++) {
              writer.publish(Message.of("s.x", "m".getBytes(StandardCharsets.UTF_8), 0), null);
            }
            long before = log.logEndOffset();
            writer.doWork();
            for (long o = before; o < log.logEndOffset(); o++) {
              model.published.add(o);
            }
          }
          case FETCH -> {
            CompletableFuture<List<Delivery>> f =
                consumer.fetch("m" + op.b() % 2, 1 + op.a() % 4, 0);
            consumer.doWork();
            long now = clock.nowMs();
            model.inFlight.values().removeIf(deadline -> deadline <= now);
            for (Delivery d : f.join()) {
              long o = d.offset();
              assertThat(model.inFlight)
                  .as("offset %d delivered while in flight", o)
                  .doesNotContainKey(o);
              assertThat(model.acked).as("acked %d came back", o).doesNotContain(o);
              assertThat(model.deadLettered).doesNotContain(o);
              int count = model.deliveries.merge(o, 1, Integer::sum);
              assertThat(d.deliveryCount()).as("delivery count of %d", o).isEqualTo(count);
              if (maxDeliver > 0) {
                assertThat(count).isLessThanOrEqualTo(maxDeliver);
              }
              model.inFlight.put(o, now + ACK_TIMEOUT_MS);
              outstanding.add(d);
            }
          }
          case ACK, NACK -> {
            if (outstanding.isEmpty()) {
              continue;
            }
            Delivery d = outstanding.remove(op.a() % outstanding.size());
            long o = d.offset();
            if (op.kind() == Kind.ACK) {
              // A late ack still counts while the message is unacknowledged: the work was done.
              boolean open = !model.acked.contains(o) && !model.deadLettered.contains(o);
              CompletableFuture<Boolean> r = consumer.ack(d.partition(), o);
              consumer.doWork();
              assertThat(r.join()).as("ack of %d", o).isEqualTo(open);
              if (open) {
                model.acked.add(o);
                model.inFlight.remove(o);
              }
            } else {
              // A nack only touches the delivery it names, and only while it is live.
              boolean live =
                  model.inFlight.containsKey(o) && model.deliveries.get(o) == d.deliveryCount();
              CompletableFuture<Boolean> r =
                  consumer.nack(d.partition(), o, d.deliveryCount(), 0, "nope");
              consumer.doWork();
              assertThat(r.join()).as("nack of %d", o).isEqualTo(live);
              if (live) {
                model.inFlight.remove(o);
                if (maxDeliver > 0 && model.deliveries.get(o) >= maxDeliver) {
                  model.deadLettered.add(o);
                }
              }
            }
          }
          case ADVANCE -> {
            clock.ms.addAndGet(op.a() * 25L);
            consumer.doWork();
            long now = clock.nowMs();
            for (Map.Entry<Long, Long> e : List.copyOf(model.inFlight.entrySet())) {
              if (e.getValue() <= now) {
                model.inFlight.remove(e.getKey());
                if (maxDeliver > 0 && model.deliveries.get(e.getKey()) >= maxDeliver) {
                  model.deadLettered.add(e.getKey());
                }
              }
            }
          }
          case RESTART -> {
            consumer.close();
            consumer.finish();
            consumer = make.get();
            consumer.doWork();
            // What was in flight counts as timed out: at the delivery limit it is dead-lettered.
            for (long o : model.inFlight.keySet()) {
              if (maxDeliver > 0 && model.deliveries.get(o) >= maxDeliver) {
                model.deadLettered.add(o);
              }
            }
            model.inFlight.clear();
            outstanding.clear();
          }
        }
        assertThat(dlq.size()).as("dead letters after %s", op).isEqualTo(model.deadLettered.size());
      }
      // Drain: everything not acknowledged or dead-lettered is still delivered, until acked.
      for (int round = 0; round < 50; round++) {
        clock.ms.addAndGet(ACK_TIMEOUT_MS);
        CompletableFuture<List<Delivery>> f = consumer.fetch("drain", 100, 0);
        consumer.doWork();
        for (Delivery d : f.join()) {
          assertThat(model.acked).doesNotContain(d.offset());
          consumer.ack(d.partition(), d.offset());
          model.acked.add(d.offset());
        }
        consumer.doWork();
      }
      // The dead letters themselves say which message they were and after how many deliveries.
      Set<Long> dead = new HashSet<>();
      for (Message m : dlq) {
        long o =
            Long.parseLong(new String(m.header(ConsumerAgent.DLQ_OFFSET), StandardCharsets.UTF_8));
        assertThat(dead.add(o)).as("%d dead-lettered twice", o).isTrue();
        assertThat(new String(m.header(ConsumerAgent.DLQ_DELIVERIES), StandardCharsets.UTF_8))
            .isEqualTo(Integer.toString(maxDeliver));
      }
      assertThat(dead).containsAll(model.deadLettered);
      assertThat(java.util.Collections.disjoint(dead, model.acked))
          .as("nothing both acknowledged and dead-lettered")
          .isTrue();
      Set<Long> finished = new HashSet<>(model.acked);
      finished.addAll(dead);
      assertThat(finished).isEqualTo(model.published);
      assertThat(consumer.unacknowledged()).isZero();
    } finally {
      writer.close();
      TempTrees.delete(dir);
    }
  }
}
