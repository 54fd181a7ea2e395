package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.SimulatedDisk;
import io.switchboard.log.io.StorageFile;
import io.switchboard.testkit.ManualClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Declared bindings: stored, restored on open, and copying by their rules. */
class DurableBindingsTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();
  static final Executor DIRECT = Runnable::run;

  Broker open() {
    return Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), clock);
  }

  static Message msg(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  /** Every message stored in a one-partition stream, in order. */
  static List<Message> stored(Broker b, String stream) {
    List<Message> out = new ArrayList<>();
    for (StoredMessage m : b.readMessages(stream, 0, 0, 1 << 20, 0).messages()) {
      out.add(m.message());
    }
    return out;
  }

  static List<String> bodies(List<Message> ms) {
    return ms.stream().map(m -> new String(m.payload(), StandardCharsets.UTF_8)).toList();
  }

  static BindingSpec queueBinding(String name, String pattern) {
    // An AMQP topic binding as it would be made: exchange "orders", queue stream Q, key "orders.#".
    return BindingSpec.builder("amqp", name, pattern, "Q")
        .subjectPrefix("q")
        .argument("exchange", "orders")
        .build();
  }

  @Test
  void aRestartKeepsBindingsAndAPublishAfterItIsCopied() {
    BindingSpec spec = queueBinding("orders/Q/orders.#", "orders.>");
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      b.bindDurable(spec, DIRECT).join();
      assertThat(b.bindings("amqp")).containsExactly(spec);
    }
    try (Broker b = open()) {
      assertThat(b.bindings("amqp")).containsExactly(spec);
      assertThat(b.bindings("mqtt")).isEmpty();
      b.publish(msg("orders.eu.1", "one"), PublishOptions.NONE).join();
      b.publish(msg("other.1", "no"), PublishOptions.NONE).join();
      List<Message> copies = stored(b, "Q");
      assertThat(bodies(copies)).containsExactly("one");
      assertThat(copies.get(0).subject()).isEqualTo("q.orders.eu.1");
    }
  }

  @Test
  void anOwnersFilterDecidesWhichMatchedMessagesItsBindingsCopy() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      b.createStream(StreamConfig.builder("M", "m.>").build());
      b.bindDurable(queueBinding("a", "orders.>"), DIRECT).join();
      b.bindDurable(
              BindingSpec.builder("mqtt", "m", "orders.>", "M").subjectPrefix("m").build(), DIRECT)
          .join();
      // Only the "amqp" bindings pass through it; the argument it reads is the binding's own.
      b.bindingFilter(
          "amqp",
          (spec, m) ->
              spec.arguments().get("exchange").equals("orders") && m.subject().endsWith(".b"));
      b.publish(msg("orders.x.b", "kept"), PublishOptions.NONE).join();
      b.publish(msg("orders.x.c", "filtered"), PublishOptions.NONE).join();
      b.bindingFilter("amqp", null);
      b.publish(msg("orders.y.c", "unfiltered"), PublishOptions.NONE).join();
      assertThat(bodies(stored(b, "Q"))).containsExactly("kept", "unfiltered");
      assertThat(bodies(stored(b, "M"))).containsExactly("kept", "filtered", "unfiltered");
    }
  }

  @Test
  void anUnbindIsStoredAndARemovalOfNothingSaysSo() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      b.bindDurable(queueBinding("a", "a.>"), DIRECT).join();
      b.bindDurable(queueBinding("b", "b.>"), DIRECT).join();
      assertThat(b.unbind("amqp", "a", DIRECT).join()).isTrue();
      assertThat(b.unbind("amqp", "a", DIRECT).join()).isFalse();
      assertThat(b.unbind("mqtt", "b", DIRECT).join()).isFalse();
    }
    try (Broker b = open()) {
      assertThat(b.bindings("amqp")).extracting(BindingSpec::name).containsExactly("b");
      b.publish(msg("a.1", "a"), PublishOptions.NONE).join();
      b.publish(msg("b.1", "b"), PublishOptions.NONE).join();
      assertThat(bodies(stored(b, "Q"))).containsExactly("b");
    }
  }

  @Test
  void bindingTheSameNameAgainReplacesIt() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      b.bindDurable(queueBinding("x", "a.>"), DIRECT).join();
      b.bindDurable(queueBinding("x", "b.>"), DIRECT).join();
      b.publish(msg("a.1", "a"), PublishOptions.NONE).join();
      b.publish(msg("b.1", "b"), PublishOptions.NONE).join();
      assertThat(bodies(stored(b, "Q"))).containsExactly("b");
      assertThat(b.bindings("amqp")).hasSize(1);
    }
  }

  @Test
  void aFixedSubjectKeepsTheOriginalInAHeaderAndSkipRulesAndHeadersApply() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      b.bindDurable(
              BindingSpec.builder("mqtt", "c1/#", ">", "INBOX")
                  .fixedSubject("inbox.c1")
                  .skipSubjectPrefix("$")
                  .skipHeader("origin", "c1".getBytes(StandardCharsets.UTF_8))
                  .header("via", new byte[] {7})
                  .build(),
              DIRECT)
          .join();
      b.publish(msg("t.1", "copied"), PublishOptions.NONE).join();
      b.publish(msg("$sys.1", "dollar"), PublishOptions.NONE).join();
      b.publish(
              msg("t.2", "own").withHeader("origin", "c1".getBytes(StandardCharsets.UTF_8)),
              PublishOptions.NONE)
          .join();
      b.publish(
              msg("t.3", "other").withHeader("origin", "c2".getBytes(StandardCharsets.UTF_8)),
              PublishOptions.NONE)
          .join();
      List<Message> copies = stored(b, "INBOX");
      assertThat(bodies(copies)).containsExactly("copied", "other");
      Message first = copies.get(0);
      assertThat(first.subject()).isEqualTo("inbox.c1");
      assertThat(first.header(BindingSpec.ORIGINAL_SUBJECT_HEADER))
          .isEqualTo("t.1".getBytes(StandardCharsets.UTF_8));
      assertThat(first.header("via")).containsExactly(7);
    }
  }

  @Test
  void overlappingBindingsToOneTargetCopyOnceButEachGroupMakesItsOwnCopy() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      for (String pattern : List.of("a.>", "a.*", "*.b")) {
        b.bindDurable(
                BindingSpec.builder("mqtt", "c1/" + pattern, pattern, "INBOX")
                    .fixedSubject("inbox.c1")
                    .build(),
                DIRECT)
            .join();
      }
      b.bindDurable(
              BindingSpec.builder("mqtt", "c1/share", "a.b", "INBOX")
                  .fixedSubject("inbox.c1")
                  .group("g")
                  .header("share", "g".getBytes(StandardCharsets.UTF_8))
                  .build(),
              DIRECT)
          .join();
      b.publish(msg("a.b", "m"), PublishOptions.NONE).join();
      List<Message> copies = stored(b, "INBOX");
      assertThat(copies).hasSize(2);
      assertThat(copies).filteredOn(m -> m.header("share") != null).hasSize(1);
    }
  }

  @Test
  void aDeletedTargetStreamTakesItsBindingsWithItForGood() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      b.createStream(StreamConfig.builder("R", "r.>").build());
      b.bindDurable(queueBinding("to-q", "a.>"), DIRECT).join();
      b.bindDurable(
              BindingSpec.builder("amqp", "to-r", "a.>", "R").subjectPrefix("r").build(), DIRECT)
          .join();
      b.deleteStream("Q");
      assertThat(b.bindings("amqp")).extracting(BindingSpec::name).containsExactly("to-r");
      // Publishing still works, and the other binding still copies.
      assertThat(b.publish(msg("a.1", "x"), PublishOptions.NONE).join().stream()).isNull();
      assertThat(bodies(stored(b, "R"))).containsExactly("x");
    }
    try (Broker b = open()) {
      assertThat(b.bindings("amqp")).extracting(BindingSpec::name).containsExactly("to-r");
      b.createStream(StreamConfig.builder("Q", "q.>").build()); // a new stream of the old name
      b.publish(msg("a.2", "y"), PublishOptions.NONE).join();
      assertThat(stored(b, "Q")).isEmpty();
    }
  }

  @Test
  void badBindingsAreRefusedWithACode() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      assertThat(code(b.bindDurable(queueBinding("x", "a..b"), DIRECT)))
          .isEqualTo(ErrorCode.INVALID_PATTERN);
      assertThat(
              code(
                  b.bindDurable(
                      BindingSpec.builder("amqp", "x", "a", "NOPE").subjectPrefix("q").build(),
                      DIRECT)))
          .isEqualTo(ErrorCode.STREAM_NOT_FOUND);
      assertThat(
              code(
                  b.bindDurable(
                      BindingSpec.builder("amqp", "x", "a", "Q").fixedSubject("q.*").build(),
                      DIRECT)))
          .isEqualTo(ErrorCode.INVALID_SUBJECT);
      assertThatThrownBy(() -> BindingSpec.builder("amqp", "x", "a", "Q").build())
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_BINDING));
      assertThatThrownBy(
              () ->
                  BindingSpec.builder("", "x", "a", "Q")
                      .subjectPrefix("q")
                      .fixedSubject("q.x")
                      .build())
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_BINDING));
      assertThat(b.bindings("amqp")).isEmpty();
    }
  }

  @Test
  void theFutureCompletesOnTheExecutorTheCallerNames() throws Exception {
    ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "the-loop"));
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      assertThat(completingThread(loop, () -> b.bindDurable(queueBinding("x", "a"), loop)))
          .isEqualTo("the-loop");
      assertThat(completingThread(loop, () -> b.unbind("amqp", "x", loop))).isEqualTo("the-loop");
    } finally {
      loop.shutdownNow();
    }
  }

  /**
   * The thread that completes the future {@code call} returns. The loop is held busy until the
   * dependent stage is attached, so a completion on the loop cannot come first (a stage attached to
   * a completed future runs on the attaching thread, which would hide where it completed).
   */
  static String completingThread(
      ExecutorService loop, java.util.function.Supplier<CompletableFuture<?>> call)
      throws Exception {
    java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
    loop.execute(
        () -> {
          try {
            hold.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    CompletableFuture<String> thread;
    try {
      thread = call.get().thenApply(ignored -> Thread.currentThread().getName());
    } finally {
      hold.countDown();
    }
    return thread.get(10, TimeUnit.SECONDS);
  }

  @Test
  void theStoreHoldsAtMostItsLimitAndAReplacementDoesNotCount() {
    List<BindingStore.Change> applied = new ArrayList<>();
    try (BindingStore store =
        BindingStore.open(new SimulatedDisk(), Path.of("/sim/b"), 2, applied::add)) {
      store.submit(BindingStore.Change.put(queueBinding("a", "a"))).join();
      store.submit(BindingStore.Change.put(queueBinding("b", "b"))).join();
      assertThat(code(store.submit(BindingStore.Change.put(queueBinding("c", "c")))))
          .isEqualTo(ErrorCode.TOO_MANY_BINDINGS);
      store.submit(BindingStore.Change.put(queueBinding("b", "b2"))).join();
      store.submit(BindingStore.Change.remove("amqp", "a")).join();
      store.submit(BindingStore.Change.put(queueBinding("c", "c"))).join();
      assertThat(store.all()).extracting(BindingSpec::name).containsExactlyInAnyOrder("b", "c");
      assertThat(applied).hasSize(5);
    }
  }

  @Test
  void aTornOrDamagedTailIsCutAndWhatWasAcknowledgedStays() throws Exception {
    SimulatedDisk disk = new SimulatedDisk();
    Path d = Path.of("/sim/b");
    try (BindingStore store = BindingStore.open(disk, d, 100, c -> {})) {
      store.submit(BindingStore.Change.put(queueBinding("a", "a"))).join();
      store.submit(BindingStore.Change.put(queueBinding("b", "b"))).join();
    }
    Path file = d.resolve(BindingStore.FILE);
    long size;
    try (StorageFile f = disk.open(file, false)) {
      size = f.size();
      f.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 50, 1, 2, 3}), size); // a torn record
      f.force();
    }
    try (BindingStore store = BindingStore.open(disk, d, 100, c -> {})) {
      assertThat(store.all()).extracting(BindingSpec::name).containsExactly("a", "b");
      store.submit(BindingStore.Change.put(queueBinding("c", "c"))).join();
    }
    disk.corrupt(file, size + 20, (byte) 0x40); // damage inside the third record
    try (BindingStore store = BindingStore.open(disk, d, 100, c -> {})) {
      assertThat(store.all()).extracting(BindingSpec::name).containsExactly("a", "b");
    }
  }

  @Test
  void aLogOfMostlySupersededChangesIsRewrittenWithWhatHolds() throws Exception {
    SimulatedDisk disk = new SimulatedDisk();
    Path d = Path.of("/sim/b");
    Path file = d.resolve(BindingStore.FILE);
    try (BindingStore store = BindingStore.open(disk, d, 100, 4, c -> {})) {
      for (int i = 0; i < 50; i++) {
        store.submit(BindingStore.Change.put(queueBinding("n" + (i % 2), "a." + i))).join();
      }
      store.submit(BindingStore.Change.remove("amqp", "n0")).join();
    }
    // 51 records would be about 50 times one binding's; compacted, it is a few.
    long oneRecord;
    SimulatedDisk single = new SimulatedDisk();
    try (BindingStore store = BindingStore.open(single, d, 100, c -> {})) {
      store.submit(BindingStore.Change.put(queueBinding("n1", "a.49"))).join();
    }
    try (StorageFile f = single.open(file, false)) {
      oneRecord = f.size();
    }
    try (StorageFile f = disk.open(file, false)) {
      assertThat(f.size()).isLessThan(10 * oneRecord);
    }
    try (BindingStore store = BindingStore.open(disk, d, 100, c -> {})) {
      assertThat(store.all()).containsExactly(queueBinding("n1", "a.49"));
    }
  }

  @Test
  void everyAcknowledgedChangeSurvivesPowerLossIn30Seeds() {
    for (long seed = 1; seed <= 30; seed++) {
      assertThat(powerLoss(seed, new SimulatedDisk())).as("seed %d", seed).isEmpty();
    }
  }

  @Test
  void thePowerLossCheckCatchesALyingFsync() {
    int caught = 0;
    for (long seed = 1; seed <= 10; seed++) {
      SimulatedDisk disk = new SimulatedDisk();
      disk.setLyingFsync(true);
      if (!powerLoss(seed, disk).isEmpty()) {
        caught++;
      }
    }
    assertThat(caught).isGreaterThanOrEqualTo(8);
  }

  /**
   * Puts and removes bindings at random, cutting the power after some; every change whose future
   * completed must hold after the store reopens. Returns what did not.
   */
  private static List<String> powerLoss(long seed, SimulatedDisk disk) {
    Random random = new Random(seed);
    Path d = Path.of("/sim/b");
    Set<String> present = new HashSet<>();
    Set<String> absent = new HashSet<>();
    List<String> problems = new ArrayList<>();
    for (int cycle = 0; cycle < 4; cycle++) {
      var dying = new io.switchboard.log.io.DyingIO(disk);
      // Compacting after a few superseded records: power cuts land in compactions too.
      try (BindingStore store = BindingStore.open(dying, d, 10_000, 2, c -> {})) {
        Set<String> now = new HashSet<>();
        store.all().forEach(s -> now.add(s.name()));
        for (String p : present) {
          if (!now.contains(p)) {
            problems.add("acknowledged binding " + p + " lost");
          }
        }
        for (String a : absent) {
          if (now.contains(a)) {
            problems.add("acknowledged removal of " + a + " undone");
          }
        }
        dying.dieAfter(5 + random.nextInt(30));
        for (int i = 0; i < 40; i++) {
          String name = "n" + random.nextInt(20);
          boolean put = random.nextInt(3) > 0;
          CompletableFuture<Boolean> f =
              store.submit(
                  put
                      ? BindingStore.Change.put(queueBinding(name, "a." + i))
                      : BindingStore.Change.remove("amqp", name));
          try {
            f.join();
            (put ? present : absent).add(name);
            (put ? absent : present).remove(name);
          } catch (CompletionException e) {
            // the process died: this change may or may not have been kept
            present.remove(name);
            absent.remove(name);
          }
        }
      } catch (RuntimeException e) {
        problems.add("store did not open: " + e);
        return problems;
      }
      disk.crash(random);
    }
    return problems;
  }

  private static ErrorCode code(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (CompletionException e) {
      return ((SwitchboardException) e.getCause()).code();
    }
  }
}
