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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The consumer agent driven by hand: a manual clock and explicit duty cycles, no threads. */
class ConsumerAgentTest {
  @TempDir Path dir;

  final ManualClock clock = new ManualClock();
  final List<Message> deadLetters = new ArrayList<>();
  final List<ConsumerState> persisted = new ArrayList<>();
  PartitionAgent writer;

  @AfterEach
  void close() {
    if (writer != null) {
      writer.close();
    }
  }

  ConsumerAgent consumer(ConsumerConfig config) {
    return consumer(config, new ConsumerState(List.of()));
  }

  ConsumerAgent consumer(ConsumerConfig config, ConsumerState state) {
    if (writer == null) {
      PartitionLog log =
          PartitionLog.open(
              dir,
              LogConfig.defaults(FsyncPolicy.NEVER),
              new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
      writer =
          new PartitionAgent("S", 0, log, StreamConfig.builder("S", "s.>").build(), clock, 4096);
    }
    return new ConsumerAgent(
        "S",
        config,
        List.of(writer.log()),
        state,
        clock,
        m -> {
          deadLetters.add(m);
          return CompletableFuture.completedFuture(null);
        },
        persisted::add,
        0);
  }

  void publish(String subject, String... bodies) {
    for (String b : bodies) {
      writer.publish(Message.of(subject, b.getBytes(StandardCharsets.UTF_8), 0), null);
    }
    writer.doWork();
  }

  static List<String> bodies(List<Delivery> ds) {
    return ds.stream().map(d -> new String(d.message().payload(), StandardCharsets.UTF_8)).toList();
  }

  List<Delivery> fetch(ConsumerAgent c, int max) {
    CompletableFuture<List<Delivery>> f = c.fetch("m", max, 0);
    c.doWork();
    return f.join();
  }

  void ack(ConsumerAgent c, Delivery d) {
    CompletableFuture<Boolean> f = c.ack(d.partition(), d.offset());
    c.doWork();
    assertThat(f.join()).isTrue();
  }

  @Test
  void deliversInOrderAndAcknowledgedMessagesAreDone() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build());
    publish("s.a", "1", "2", "3");
    List<Delivery> first = fetch(c, 2);
    assertThat(bodies(first)).containsExactly("1", "2");
    assertThat(first).allMatch(d -> d.deliveryCount() == 1 && d.message().subject().equals("s.a"));
    first.forEach(d -> ack(c, d));
    assertThat(bodies(fetch(c, 10))).containsExactly("3");
    assertThat(fetch(c, 10)).isEmpty();
    assertThat(c.unacknowledged()).isEqualTo(1);
  }

  @Test
  void sharedMembersNeverHoldTheSameMessageAtOnce() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build());
    publish("s.a", "1", "2", "3", "4", "5", "6");
    CompletableFuture<List<Delivery>> a = c.fetch("a", 3, 0);
    CompletableFuture<List<Delivery>> b = c.fetch("b", 3, 0);
    c.doWork();
    Set<String> seen = new HashSet<>(bodies(a.join()));
    assertThat(seen).doesNotContainAnyElementsOf(bodies(b.join()));
    seen.addAll(bodies(b.join()));
    assertThat(seen).containsExactlyInAnyOrder("1", "2", "3", "4", "5", "6");
  }

  @Test
  void anUnacknowledgedMessageIsRedeliveredAfterTheAckTimeout() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").ackTimeoutMs(1000).build());
    publish("s.a", "x");
    Delivery d = fetch(c, 1).getFirst();
    clock.ms.addAndGet(999);
    assertThat(fetch(c, 1)).isEmpty();
    clock.ms.addAndGet(1);
    Delivery again = fetch(c, 1).getFirst();
    assertThat(again.offset()).isEqualTo(d.offset());
    assertThat(again.deliveryCount()).isEqualTo(2);
  }

  @Test
  void inProgressRestartsTheDeadlineAndNackRedeliversAfterItsDelay() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").ackTimeoutMs(1000).build());
    publish("s.a", "x");
    Delivery d = fetch(c, 1).getFirst();
    clock.ms.addAndGet(900);
    CompletableFuture<Boolean> touched = c.inProgress(d.partition(), d.offset(), 1);
    c.doWork();
    assertThat(touched.join()).isTrue();
    clock.ms.addAndGet(900);
    assertThat(fetch(c, 1)).isEmpty();
    CompletableFuture<Boolean> nacked = c.nack(d.partition(), d.offset(), 1, 5000, "db down");
    c.doWork();
    assertThat(nacked.join()).isTrue();
    clock.ms.addAndGet(4999);
    assertThat(fetch(c, 1)).isEmpty();
    clock.ms.addAndGet(1);
    assertThat(fetch(c, 1).getFirst().deliveryCount()).isEqualTo(2);
  }

  @Test
  void afterMaxDeliveriesTheMessageIsDeadLetteredWithItsHistory() {
    ConsumerAgent c =
        consumer(
            ConsumerConfig.builder("C")
                .ackTimeoutMs(100)
                .maxDeliver(3)
                .backoffMs(10L, 20L)
                .deadLetterSubject("dlq.orders")
                .build());
    publish("s.a", "poison");
    for (int attempt = 1; attempt <= 3; attempt++) {
      Delivery d = fetch(c, 1).getFirst();
      assertThat(d.deliveryCount()).isEqualTo(attempt);
      CompletableFuture<Boolean> n =
          c.nack(d.partition(), d.offset(), d.deliveryCount(), -1, "boom " + attempt);
      c.doWork();
      assertThat(n.join()).isTrue();
      assertThat(deadLetters).hasSize(attempt == 3 ? 1 : 0);
      clock.ms.addAndGet(attempt == 1 ? 10 : 20); // the back-off schedule: 10 ms, then 20 ms
    }
    c.doWork();
    Message dead = deadLetters.getFirst();
    assertThat(dead.subject()).isEqualTo("dlq.orders");
    assertThat(new String(dead.payload(), StandardCharsets.UTF_8)).isEqualTo("poison");
    assertThat(new String(dead.header(ConsumerAgent.DLQ_DELIVERIES), StandardCharsets.UTF_8))
        .isEqualTo("3");
    assertThat(new String(dead.header(ConsumerAgent.DLQ_LAST_ERROR), StandardCharsets.UTF_8))
        .isEqualTo("boom 3");
    assertThat(new String(dead.header(ConsumerAgent.DLQ_STREAM), StandardCharsets.UTF_8))
        .isEqualTo("S");
    assertThat(c.unacknowledged()).isZero();
    assertThat(c.deadLettered()).isEqualTo(1);
    assertThat(fetch(c, 1)).isEmpty();
  }

  @Test
  void theBackoffScheduleSpacesRedeliveries() {
    ConsumerAgent c =
        consumer(ConsumerConfig.builder("C").ackTimeoutMs(100).backoffMs(1000L).build());
    publish("s.a", "x");
    fetch(c, 1);
    clock.ms.addAndGet(100); // timed out: now waits 1 s before it may go again
    c.doWork();
    clock.ms.addAndGet(999);
    assertThat(fetch(c, 1)).isEmpty();
    clock.ms.addAndGet(1);
    assertThat(fetch(c, 1)).hasSize(1);
  }

  @Test
  void aFilterDeliversOnlyMatchingSubjects() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").filter("s.eu.*").build());
    publish("s.eu.a", "1");
    publish("s.us.a", "2");
    publish("s.eu.b", "3");
    assertThat(bodies(fetch(c, 10))).containsExactly("1", "3");
  }

  @Test
  void ackPolicyNoneTracksNothingAndCumulativeAcksEverythingBefore() {
    ConsumerAgent none = consumer(ConsumerConfig.builder("N").ackPolicy(AckPolicy.NONE).build());
    publish("s.a", "1", "2");
    assertThat(fetch(none, 10)).hasSize(2);
    assertThat(none.unacknowledged()).isZero();
    ConsumerAgent cum =
        consumer(ConsumerConfig.builder("K").ackPolicy(AckPolicy.CUMULATIVE).build());
    List<Delivery> got = fetch(cum, 10);
    ack(cum, got.getLast());
    assertThat(cum.unacknowledged()).isZero();
  }

  @Test
  void maxAckPendingHoldsBackNewMessages() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").maxAckPending(2).build());
    publish("s.a", "1", "2", "3");
    List<Delivery> got = fetch(c, 10);
    assertThat(bodies(got)).containsExactly("1", "2");
    assertThat(fetch(c, 10)).isEmpty();
    ack(c, got.getFirst());
    assertThat(bodies(fetch(c, 10))).containsExactly("3");
  }

  @Test
  void aWaitingFetchCompletesWhenAMessageArrivesOrEmptyAtItsDeadline() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build());
    CompletableFuture<List<Delivery>> waiting = c.fetch("m", 5, 10_000);
    c.doWork();
    assertThat(waiting).isNotDone();
    publish("s.a", "late");
    c.doWork();
    assertThat(bodies(waiting.join())).containsExactly("late");
    CompletableFuture<List<Delivery>> expires = c.fetch("m", 5, 1000);
    c.doWork();
    clock.ms.addAndGet(1000);
    c.doWork();
    assertThat(expires.join()).isEmpty();
  }

  @Test
  void resumesFromItsStateRedeliveringWhatWasUnacknowledged() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build());
    publish("s.a", "1", "2", "3");
    List<Delivery> got = fetch(c, 2);
    ack(c, got.getFirst());
    c.doWork();
    ConsumerState state = persisted.getLast();
    assertThat(state.partitions().getFirst().next()).isEqualTo(2);
    ConsumerAgent resumed = consumer(ConsumerConfig.builder("C").build(), state);
    List<Delivery> after = fetch(resumed, 10);
    assertThat(bodies(after)).containsExactly("2", "3");
    assertThat(after.getFirst().deliveryCount()).isEqualTo(2);
    assertThat(after.getLast().deliveryCount()).isEqualTo(1);
  }

  @Test
  void anExclusiveConsumerRefusesOtherMembersUntilItsMemberGoesSilent() {
    ConsumerAgent c =
        consumer(
            ConsumerConfig.builder("X").mode(DeliveryMode.EXCLUSIVE).ackTimeoutMs(1000).build());
    publish("s.a", "1", "2", "3");
    CompletableFuture<List<Delivery>> a = c.fetch("a", 2, 0);
    CompletableFuture<List<Delivery>> b = c.fetch("b", 2, 0);
    c.doWork();
    assertThat(bodies(a.join())).containsExactly("1", "2");
    assertThat(b)
        .failsWithin(java.time.Duration.ZERO)
        .withThrowableThat()
        .havingCause()
        .withMessageContaining("held by member \"a\"");
    clock.ms.addAndGet(1001); // a is gone: its two messages time out, b takes over, in order
    CompletableFuture<List<Delivery>> takeover = c.fetch("b", 10, 0);
    c.doWork();
    assertThat(bodies(takeover.join())).containsExactly("1", "2", "3");
  }

  @Test
  void aFailoverStandbyWaitsThenTakesOverInOrder() {
    ConsumerAgent c =
        consumer(
            ConsumerConfig.builder("F").mode(DeliveryMode.FAILOVER).ackTimeoutMs(1000).build());
    publish("s.a", "1", "2");
    assertThat(bodies(fetch(c, 1))).containsExactly("1"); // member "m" is active
    CompletableFuture<List<Delivery>> standby = c.fetch("standby", 10, 5000);
    c.doWork();
    clock.ms.addAndGet(500);
    c.doWork();
    assertThat(standby).isNotDone();
    clock.ms.addAndGet(501); // "m" has been silent for the ack timeout
    c.doWork();
    assertThat(bodies(standby.join())).containsExactly("1", "2");
    assertThat(standby.join().getFirst().deliveryCount()).isEqualTo(2);
  }

  @Test
  void aNackedMessageComesBackBeforeLaterOnesForASingleReader() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("O").mode(DeliveryMode.EXCLUSIVE).build());
    publish("s.a", "1", "2", "3");
    Delivery first = fetch(c, 1).getFirst();
    CompletableFuture<Boolean> n = c.nack(first.partition(), first.offset(), 1, 0, "retry");
    c.doWork();
    assertThat(n.join()).isTrue();
    assertThat(bodies(fetch(c, 3))).containsExactly("1", "2", "3");
  }

  @Test
  void expiredMessagesAreSkippedAndCounted() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("T").build());
    writer.publish(
        Message.of("s.a", "short".getBytes(StandardCharsets.UTF_8), 0).withTtl(1000), null);
    writer.publish(
        Message.of("s.a", "long".getBytes(StandardCharsets.UTF_8), 0).withTtl(60_000), null);
    writer.publish(Message.of("s.a", "forever".getBytes(StandardCharsets.UTF_8), 0), null);
    writer.doWork();
    clock.ms.addAndGet(1000);
    assertThat(bodies(fetch(c, 10))).containsExactly("long", "forever");
    assertThat(c.expired()).isEqualTo(1);
  }

  /**
   * Key-shared delivery asks the key holds (kept as entries change) instead of walking every
   * unacknowledged message: a key is held while a message of it is in flight, and let go when the
   * last one is acknowledged, so the holds never outgrow what is unacknowledged.
   */
  @Test
  void keyHoldsFollowWhatIsInFlightAndAreLetGoOnAck() {
    ConsumerAgent c =
        consumer(
            ConsumerConfig.builder("K").mode(DeliveryMode.KEY_SHARED).ackTimeoutMs(1000).build());
    assertThat(fetch("a", c, 1)).isEmpty();
    for (int i = 0; i < 12; i++) {
      writer.publish(
          new Message(
              "s.x",
              ("key" + i % 3).getBytes(StandardCharsets.UTF_8),
              List.of(),
              ("m" + i).getBytes(StandardCharsets.UTF_8),
              0,
              null),
          null);
    }
    writer.doWork();
    List<Delivery> got = fetch("a", c, 5);
    assertThat(got).hasSize(5);
    assertThat(c.heldKeys()).isEqualTo(3);
    for (Delivery d : got) {
      ack(c, d);
    }
    assertThat(c.heldKeys()).isZero();
    List<Delivery> rest = fetch("a", c, 100);
    assertThat(rest).hasSize(7);
    assertThat(c.heldKeys()).isEqualTo(3);
    for (Delivery d : rest) {
      ack(c, d);
    }
    assertThat(c.heldKeys()).isZero();
    assertThat(c.unacknowledged()).isZero();
  }

  /** Entries restored without their keys get them worked out before any key hold is asked. */
  @Test
  void aRestartedKeySharedConsumerRedeliversInKeyOrderAndLetsGoOfItsHolds() {
    ConsumerConfig config =
        ConsumerConfig.builder("K").mode(DeliveryMode.KEY_SHARED).ackTimeoutMs(1000).build();
    ConsumerAgent before = consumer(config);
    for (int i = 0; i < 6; i++) {
      writer.publish(
          new Message(
              "s.x",
              ("key" + i % 2).getBytes(StandardCharsets.UTF_8),
              List.of(),
              ("m" + i).getBytes(StandardCharsets.UTF_8),
              0,
              null),
          null);
    }
    writer.doWork();
    assertThat(bodies(fetch("a", before, 4))).containsExactly("m0", "m1", "m2", "m3");
    ConsumerState saved = before.snapshot();

    ConsumerAgent after = consumer(config, saved);
    List<Delivery> got = new ArrayList<>(fetch("b", after, 2));
    assertThat(bodies(got)).containsExactly("m0", "m1");
    assertThat(after.heldKeys()).as("the restored entries' keys, read back").isEqualTo(2);
    got.addAll(fetch("b", after, 10));
    assertThat(bodies(got)).containsExactly("m0", "m1", "m2", "m3", "m4", "m5");
    assertThat(got.subList(0, 4)).allSatisfy(d -> assertThat(d.deliveryCount()).isEqualTo(2));
    assertThat(after.heldKeys()).isEqualTo(2);
    for (Delivery d : got) {
      ack(after, d);
    }
    assertThat(after.heldKeys()).isZero();
    assertThat(after.unacknowledged()).isZero();
  }

  @Test
  void aSilentMemberHoldsOnlyItsOwnKeysUntilItIsDeclaredGone() {
    ConsumerAgent c =
        consumer(
            ConsumerConfig.builder("K").mode(DeliveryMode.KEY_SHARED).ackTimeoutMs(1000).build());
    // Both members make themselves known first, so keys are split between them from the start.
    assertThat(fetch("a", c, 1)).isEmpty();
    assertThat(fetch("b", c, 1)).isEmpty();
    for (int i = 0; i < 40; i++) {
      writer.publish(
          new Message(
              "s.x",
              ("key" + i % 8).getBytes(StandardCharsets.UTF_8),
              List.of(),
              ("m" + i).getBytes(StandardCharsets.UTF_8),
              0,
              null),
          null);
    }
    writer.doWork();
    // Both members show up; then "a" takes one message and falls silent, never acknowledging.
    CompletableFuture<List<Delivery>> hello = c.fetch("b", 1, 0);
    CompletableFuture<List<Delivery>> a = c.fetch("a", 1, 0);
    c.doWork();
    List<Delivery> first = new ArrayList<>(hello.join());
    Delivery stuck = a.join().getFirst();
    String stuckKey = new String(stuck.message().key(), StandardCharsets.UTF_8);
    Set<String> keysOfB = new HashSet<>();
    for (Delivery d : first) {
      keysOfB.add(new String(d.message().key(), StandardCharsets.UTF_8));
      ack(c, d);
    }
    for (int round = 0; round < 10; round++) {
      for (Delivery d : fetch("b", c, 10)) {
        String key = new String(d.message().key(), StandardCharsets.UTF_8);
        assertThat(key).isNotEqualTo(stuckKey);
        keysOfB.add(key);
        ack(c, d);
      }
    }
    // b worked its own keys; what waits is exactly the messages of keys that belong to a.
    assertThat(keysOfB).isNotEmpty();
    assertThat(c.unacknowledged()).isEqualTo(40 - 5 * keysOfB.size());
    // a has been silent for the ack timeout: b takes its keys, the stuck message first.
    clock.ms.addAndGet(1001);
    List<Delivery> rest = new ArrayList<>();
    for (int round = 0; round < 10; round++) {
      for (Delivery d : fetch("b", c, 100)) {
        rest.add(d);
        ack(c, d);
      }
    }
    assertThat(rest).anyMatch(d -> d.offset() == stuck.offset() && d.deliveryCount() == 2);
    assertThat(c.unacknowledged()).isZero();
  }

  @Test
  void groupModeSplitsPartitionsEvenlyAndHandsThemOverWithTheirCommittedOffsets() {
    List<PartitionLog> logs = new ArrayList<>();
    List<PartitionAgent> writers = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      PartitionLog log =
          PartitionLog.open(
              dir.resolve("g" + p),
              LogConfig.defaults(FsyncPolicy.NEVER),
              new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
      logs.add(log);
      PartitionAgent w =
          new PartitionAgent("S", p, log, StreamConfig.builder("S", "s.>").build(), clock, 64);
      for (int i = 0; i < 3; i++) {
        w.publish(Message.of("s.x", ("p" + p + "m" + i).getBytes(StandardCharsets.UTF_8), 0), null);
      }
      w.doWork();
      writers.add(w);
    }
    ConsumerAgent c =
        new ConsumerAgent(
            "S",
            ConsumerConfig.builder("G").mode(DeliveryMode.GROUP).ackTimeoutMs(1000).build(),
            logs,
            new ConsumerState(List.of()),
            clock,
            m -> CompletableFuture.completedFuture(null),
            persisted::add,
            0);
    try {
      assertThat(fetch("a", c, 1)).hasSize(1); // "a" alone: it takes a first message
      // "a" acknowledges what it got; "b" joins: partitions are split two and two.
      Set<Integer> ofA = new HashSet<>();
      Set<Integer> ofB = new HashSet<>();
      for (int round = 0; round < 3; round++) {
        for (Delivery d : fetch("b", c, 100)) {
          ofB.add(d.partition());
          ack(c, d);
        }
        for (Delivery d : fetch("a", c, 100)) {
          ofA.add(d.partition());
          ack(c, d);
        }
      }
      assertThat(ofA).doesNotContainAnyElementsOf(ofB);
      assertThat(ofB).hasSize(2);
      // "a" goes silent: "b" takes all four, continuing where each partition was committed.
      clock.ms.addAndGet(1001);
      List<Delivery> rest = fetch("b", c, 100);
      assertThat(rest).allMatch(d -> d.deliveryCount() <= 2);
      assertThat(c.unacknowledged()).isEqualTo(rest.size());
    } finally {
      writers.forEach(PartitionAgent::close);
    }
  }

  @Test
  void keySharedGroupingSurvivesARestart() {
    ConsumerConfig config =
        ConsumerConfig.builder("K").mode(DeliveryMode.KEY_SHARED).ackTimeoutMs(1000).build();
    ConsumerAgent before = consumer(config);
    for (int i = 0; i < 24; i++) {
      writer.publish(
          new Message(
              "s.x",
              ("key" + i % 12).getBytes(StandardCharsets.UTF_8),
              List.of(),
              ("m" + i).getBytes(StandardCharsets.UTF_8),
              0,
              null),
          null);
    }
    writer.doWork();
    assertThat(fetch("a", before, 100)).hasSize(24); // all in flight, none acknowledged
    before.close();
    before.finish();
    ConsumerAgent after = consumer(config, persisted.getLast());
    // "a" takes one message and holds it; then "b" joins. With each restored entry keeping its own
    // key, b gets the messages of the keys it owns (all but a's held key); were every entry under
    // one shared key, b would get nothing, that key being held by a.
    Delivery held = fetch("a", after, 1).getFirst();
    String heldKey = new String(held.message().key(), StandardCharsets.UTF_8);
    List<Delivery> ofB = fetch("b", after, 100);
    assertThat(ofB).isNotEmpty();
    assertThat(ofB)
        .allMatch(d -> !new String(d.message().key(), StandardCharsets.UTF_8).equals(heldKey));
    ofB.forEach(d -> ack(after, d));
    ack(after, held);
    for (int round = 0; round < 5; round++) {
      for (String member : List.of("a", "b")) {
        fetch(member, after, 100).forEach(d -> ack(after, d));
      }
    }
    assertThat(after.unacknowledged()).isZero();
  }

  List<Delivery> fetch(String member, ConsumerAgent c, int max) {
    CompletableFuture<List<Delivery>> f = c.fetch(member, max, 0);
    c.doWork();
    return f.join();
  }

  /**
   * Push without a thread per member: each duty cycle hands a member as many messages as it has
   * credits; an ack returns a credit; an append wakes the agent; a close takes effect at once.
   */
  @Test
  void theAgentPushesWithinCreditsAndAnAppendWakesIt() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build());
    java.util.concurrent.atomic.AtomicInteger wakes =
        new java.util.concurrent.atomic.AtomicInteger();
    c.onWork(wakes::incrementAndGet);
    List<Delivery> pushed = new ArrayList<>();
    PushSubscription sub = c.push("m", 2, pushed::add);
    c.doWork();
    assertThat(pushed).isEmpty();

    int before = wakes.get();
    publish("s.a", "1", "2", "3");
    assertThat(wakes.get()).as("the append woke the agent").isGreaterThan(before);
    c.doWork();
    assertThat(bodies(pushed)).containsExactly("1", "2");
    c.doWork();
    assertThat(pushed).as("no credit left").hasSize(2);

    sub.ack(pushed.get(0));
    c.doWork();
    assertThat(bodies(pushed)).containsExactly("1", "2", "3");

    sub.close();
    publish("s.a", "4");
    sub.ack(pushed.get(1));
    c.doWork();
    assertThat(pushed).as("closed: nothing more").hasSize(3);
    // The message pushed to nobody is still there for a fetch.
    assertThat(bodies(fetch(c, 10))).containsExactly("4");
  }

  /**
   * A returned credit wakes the agent only when the member had none left; otherwise the ack's own
   * command is the one wake-up (the runner is not woken twice per ack).
   */
  @Test
  void aReturnedCreditWakesTheAgentOnlyForAStarvedMember() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").build());
    java.util.concurrent.atomic.AtomicInteger wakes =
        new java.util.concurrent.atomic.AtomicInteger();
    List<Delivery> pushed = new ArrayList<>();
    PushSubscription sub = c.push("m", 3, pushed::add);
    c.doWork();
    publish("s.a", "1", "2");
    c.doWork();
    assertThat(bodies(pushed)).containsExactly("1", "2");
    c.onWork(wakes::incrementAndGet);

    sub.returnCredit(); // one credit was still free: nothing for the agent to do now
    assertThat(wakes.get()).isZero();
    sub.ack(pushed.get(1)); // the ack command wakes it, once
    assertThat(wakes.get()).isEqualTo(1);

    publish("s.a", "3", "4", "5");
    c.doWork();
    assertThat(sub.availableCredits()).as("starved").isZero();
    int before = wakes.get();
    sub.returnCredits(2);
    assertThat(wakes.get()).as("credits for a starved member wake it").isEqualTo(before + 1);
    c.doWork();
    assertThat(bodies(pushed)).containsExactly("1", "2", "3", "4", "5");
  }

  /**
   * A member with credits for a backlog gets it in one duty cycle, in rounds of {@link
   * ConsumerAgent#MAX_PUSH_PER_CYCLE}, up to the cycle's budget: a consumer sharing its runner with
   * its stream must take more per cycle than the stream appends, or it falls behind.
   */
  @Test
  void aMemberWithCreditsTakesABacklogInRoundsWithinTheCyclesBudget() {
    ConsumerAgent c = consumer(ConsumerConfig.builder("C").maxAckPending(10_000).build());
    List<Integer> batches = new ArrayList<>();
    int backlog = ConsumerAgent.PUSH_BUDGET_PER_CYCLE + 100;
    c.pushBatches("m", backlog, b -> batches.add(b.size()));
    String[] bodies = new String[backlog];
    for (int i = 0; i < backlog; i++) {
      bodies[i] = Integer.toString(i);
    }
    for (int i = 0; i < backlog; i += 500) {
      publish("s.a", java.util.Arrays.copyOfRange(bodies, i, Math.min(backlog, i + 500)));
    }
    c.doWork();
    assertThat(batches).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(256));
    assertThat(batches.stream().mapToInt(Integer::intValue).sum())
        .as("one cycle: the budget, in rounds")
        .isEqualTo(ConsumerAgent.PUSH_BUDGET_PER_CYCLE);
    c.doWork();
    assertThat(batches.stream().mapToInt(Integer::intValue).sum()).isEqualTo(backlog);
  }

  @Test
  void aStandbyPushMemberTakesOverAFailoverConsumerOnlyWhenTheActiveOneIsGone() {
    ConsumerAgent c =
        consumer(
            ConsumerConfig.builder("C").mode(DeliveryMode.FAILOVER).ackTimeoutMs(1_000).build());
    List<String> got = new ArrayList<>();
    PushSubscription a = c.push("a", 10, d -> got.add("a:" + bodies(List.of(d)).get(0)));
    c.doWork();
    c.push("b", 10, d -> got.add("b:" + bodies(List.of(d)).get(0)));
    publish("s.a", "1");
    c.doWork();
    assertThat(got).containsExactly("a:1");

    a.close();
    publish("s.a", "2");
    c.doWork();
    assertThat(got).as("b waits while a's ack timeout runs").containsExactly("a:1");
    clock.ms.addAndGet(1_001);
    c.doWork();
    c.doWork();
    assertThat(got).contains("b:2");
  }

  /**
   * Under fsync=always a consumer sees a record only once it is forced: before that a power cut
   * could take it back and give its offset to another message (found by the broker power-loss
   * test).
   */
  @Test
  void underFsyncAlwaysOnlyForcedRecordsAreDelivered() {
    PartitionLog log =
        PartitionLog.open(
            dir.resolve("always"),
            LogConfig.defaults(FsyncPolicy.ALWAYS),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    try (PartitionAgent always =
        new PartitionAgent("A", 0, log, StreamConfig.builder("A", "a.>").build(), clock, 64)) {
      ConsumerAgent c =
          new ConsumerAgent(
              "A",
              ConsumerConfig.builder("C").build(),
              List.of(log),
              new ConsumerState(List.of()),
              clock,
              m -> CompletableFuture.completedFuture(null),
              s -> {},
              0);
      int[] wakes = {0};
      c.onWork(() -> wakes[0]++);
      CompletableFuture<List<Delivery>> waiting = c.fetch("m", 10, 60_000);
      c.doWork();
      CompletableFuture<io.switchboard.broker.stream.PublishAck> ack =
          always.publish(Message.of("a.x", "durable?".getBytes(StandardCharsets.UTF_8), 0), null);
      always.doWork();
      assertThat(log.logEndOffset()).isEqualTo(1);
      c.doWork();
      assertThat(waiting).as("appended but not forced: not delivered").isNotDone();
      assertThat(ack).isNotDone();

      int before = wakes[0];
      log.doFlushWork();
      assertThat(ack).isCompleted();
      assertThat(wakes[0]).as("the force woke the consumer").isGreaterThan(before);
      c.doWork();
      assertThat(bodies(waiting.join())).containsExactly("durable?");
    }
  }
}
