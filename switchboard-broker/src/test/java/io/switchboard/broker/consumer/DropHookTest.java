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

/**
 * A consumer with a {@link DropHook}: what leaves its head (past the ready limit, expired by the
 * message's own TTL or the hook's) is handed over oldest first, never delivered again, and
 * forgotten only once the hook's future completes; a failed hand-over is retried, and a restart in
 * between hands it over again (at least once).
 */
class DropHookTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();
  PartitionAgent writer;
  PartitionLog log;

  record Handed(String body, DropHook.Reason reason, CompletableFuture<Object> done) {}

  final List<Handed> handed = new ArrayList<>();
  DropHook.Limits limits;

  final DropHook hook =
      new DropHook() {
        @Override
        public Limits limits(String stream, String consumer) {
          return limits;
        }

        @Override
        public CompletableFuture<?> dropped(
            String stream, String consumer, Message message, Reason reason) {
          CompletableFuture<Object> f = new CompletableFuture<>();
          handed.add(new Handed(new String(message.payload(), StandardCharsets.UTF_8), reason, f));
          return f;
        }
      };

  @AfterEach
  void close() {
    writer.close();
  }

  void openLog() {
    log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    writer = new PartitionAgent("S", 0, log, StreamConfig.builder("S", "s.>").build(), clock, 64);
  }

  void publish(String body, Long ttlMs) {
    Message m = Message.of("s.a", body.getBytes(StandardCharsets.UTF_8), 0);
    if (ttlMs != null) {
      m = m.withHeader(Message.TTL_HEADER, Long.toString(ttlMs).getBytes(StandardCharsets.UTF_8));
    }
    writer.publish(m, null);
    writer.doWork();
  }

  ConsumerAgent consumer(ConsumerState state) {
    ConsumerAgent c =
        new ConsumerAgent(
            "S",
            ConsumerConfig.builder("C").build(),
            List.of(log),
            state,
            clock,
            m -> CompletableFuture.completedFuture(null),
            s -> {},
            0);
    c.dropHook(hook, Runnable::run);
    return c;
  }

  List<String> fetchBodies(ConsumerAgent c, int max) {
    CompletableFuture<List<Delivery>> f = c.fetch("m", max, 0);
    c.doWork();
    return f.join().stream()
        .map(d -> new String(d.message().payload(), StandardCharsets.UTF_8))
        .toList();
  }

  @Test
  void pastTheReadyLimitTheOldestAreHandedOverAndNeverDelivered() {
    openLog();
    limits = new DropHook.Limits(2, -1);
    ConsumerAgent c = consumer(new ConsumerState(List.of()));
    for (int i = 1; i <= 5; i++) {
      publish("m" + i, null);
    }
    c.doWork();
    assertThat(handed).extracting(Handed::body).containsExactly("m1", "m2", "m3");
    assertThat(handed).extracting(Handed::reason).containsOnly(DropHook.Reason.MAX_LENGTH);
    assertThat(fetchBodies(c, 10)).containsExactly("m4", "m5"); // not the ones being handed over
    assertThat(c.unacknowledged()).isEqualTo(5);
    handed.forEach(h -> h.done().complete(null));
    c.doWork();
    assertThat(c.unacknowledged()).isEqualTo(2);
    assertThat(c.deadLettered()).isEqualTo(3);
  }

  @Test
  void expiredHeadsAreHandedOverWithNoFetchAndTheHeadThatStaysStopsTheSweep() {
    openLog();
    limits = new DropHook.Limits(-1, 1_000);
    ConsumerAgent c = consumer(new ConsumerState(List.of()));
    publish("own-ttl", 100L);
    publish("queue-ttl", null);
    clock.ms.addAndGet(500);
    publish("fresh", null);
    c.doWork();
    assertThat(handed).extracting(Handed::body).containsExactly("own-ttl");
    clock.ms.addAndGet(600); // queue-ttl is 1,100 ms old, fresh 600
    c.doWork();
    assertThat(handed).extracting(Handed::body).containsExactly("own-ttl", "queue-ttl");
    assertThat(handed).extracting(Handed::reason).containsOnly(DropHook.Reason.EXPIRED);
    assertThat(fetchBodies(c, 10)).containsExactly("fresh");
  }

  @Test
  void withoutLimitsExpiredMessagesGoSilentlyAsBefore() {
    openLog();
    limits = null;
    ConsumerAgent c = consumer(new ConsumerState(List.of()));
    publish("brief", 100L);
    publish("lasting", null);
    clock.ms.addAndGet(200);
    assertThat(fetchBodies(c, 10)).containsExactly("lasting");
    assertThat(handed).isEmpty();
  }

  @Test
  void aFailedHandOverIsRetriedAndARestartHandsItOverAgain() {
    openLog();
    limits = new DropHook.Limits(1, -1);
    ConsumerAgent c = consumer(new ConsumerState(List.of()));
    publish("m1", null);
    publish("m2", null);
    c.doWork();
    assertThat(handed).extracting(Handed::body).containsExactly("m1");
    handed.getFirst().done().completeExceptionally(new IllegalStateException("DLX down"));
    c.doWork();
    assertThat(c.unacknowledged()).isEqualTo(1); // still held
    assertThat(fetchBodies(c, 10)).containsExactly("m2"); // m1 is never delivered
    clock.ms.addAndGet(1_000);
    c.doWork();
    assertThat(handed).extracting(Handed::body).containsExactly("m1", "m1");

    // A restart before the hand-over completes: the saved state has m1 unacknowledged, and the
    // new agent hands it over again (m2 is in flight: redelivered, not dropped).
    ConsumerState saved = c.snapshot();
    handed.clear();
    ConsumerAgent restarted = consumer(saved);
    restarted.doWork();
    clock.ms.addAndGet(ConsumerAgent.DROP_SWEEP_MS);
    restarted.doWork();
    assertThat(handed).extracting(Handed::body).containsExactly("m1");
    handed.getFirst().done().complete(null);
    restarted.doWork();
    assertThat(fetchBodies(restarted, 10)).containsExactly("m2");
    assertThat(restarted.unacknowledged()).isEqualTo(1);
  }
}
