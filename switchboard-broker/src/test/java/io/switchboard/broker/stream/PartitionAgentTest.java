package io.switchboard.broker.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionAgentTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  PartitionAgent agent(FsyncPolicy fsync, StreamConfig config, int queue) {
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(fsync),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    return new PartitionAgent("S", 0, log, config, clock, queue);
  }

  static StreamConfig stream() {
    return StreamConfig.builder("S", "s.>").duplicateWindowMs(60_000).build();
  }

  static Message msg(String subject, String body) {
    return new Message(
        subject,
        "k".getBytes(StandardCharsets.UTF_8),
        List.of(new Header("h", new byte[] {1})),
        body.getBytes(StandardCharsets.UTF_8),
        0,
        null);
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static List<Record> records(PartitionLog log) {
    List<Record> out = new ArrayList<>();
    for (RecordBatch b : log.read(0, 1 << 20).batches()) {
      out.addAll(b.records(1 << 20));
    }
    return out;
  }

  @Test
  void publishesInOneCycleShareBatchesAndAreAcknowledgedInOrder() {
    try (PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 1024)) {
      List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        acks.add(a.publish(msg("s.orders." + i, "body" + i), null));
      }
      assertThat(acks).noneMatch(CompletableFuture::isDone);
      assertThat(a.doWork()).isEqualTo(100);
      for (int i = 0; i < 100; i++) {
        PublishAck ack = acks.get(i).join();
        assertThat(ack.offset()).isEqualTo(i);
        assertThat(ack.stream()).isEqualTo("S");
        assertThat(ack.durability()).isEqualTo(Durability.WRITTEN);
        assertThat(ack.duplicate()).isFalse();
      }
      assertThat(a.log().read(0, 1 << 20).batches()).hasSize(1);
      Record r = records(a.log()).get(7);
      assertThat(r.subject()).isEqualTo("s.orders.7");
      assertThat(r.keyBytes()).isEqualTo("k".getBytes(StandardCharsets.UTF_8));
      assertThat(new String(r.valueBytes(), StandardCharsets.UTF_8)).isEqualTo("body7");
      assertThat(r.header("h")).containsExactly(1);
      assertThat(r.timestamp()).isEqualTo(clock.nowMs());
    }
  }

  @Test
  void underFsyncAlwaysTheAckWaitsForTheForce() {
    try (PartitionAgent a = agent(FsyncPolicy.ALWAYS, stream(), 1024)) {
      CompletableFuture<PublishAck> ack = a.publish(msg("s.a", "x"), null);
      a.doWork();
      assertThat(ack).isNotDone();
      a.log().doFlushWork();
      assertThat(ack.join().durability()).isEqualTo(Durability.FSYNCED);
    }
  }

  @Test
  void aRetriedMessageIdIsAcknowledgedWithTheOriginalOffsetAndNotStoredTwice() {
    try (PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 1024)) {
      a.publish(msg("s.a", "first"), null);
      CompletableFuture<PublishAck> original = a.publish(msg("s.a", "once"), "id-1");
      CompletableFuture<PublishAck> sameCycle = a.publish(msg("s.a", "once"), "id-1");
      a.doWork();
      CompletableFuture<PublishAck> later = a.publish(msg("s.a", "once"), "id-1");
      a.doWork();
      assertThat(original.join().offset()).isEqualTo(1);
      assertThat(sameCycle.join())
          .satisfies(
              ack -> {
                assertThat(ack.duplicate()).isTrue();
                assertThat(ack.offset()).isEqualTo(1);
              });
      assertThat(later.join().duplicate()).isTrue();
      assertThat(a.log().logEndOffset()).isEqualTo(2);
    }
  }

  @Test
  void aDuplicateOfAnUnsyncedOriginalIsAcknowledgedOnlyWithIt() {
    try (PartitionAgent a = agent(FsyncPolicy.ALWAYS, stream(), 1024)) {
      CompletableFuture<PublishAck> original = a.publish(msg("s.a", "x"), "id");
      a.doWork();
      CompletableFuture<PublishAck> retry = a.publish(msg("s.a", "x"), "id");
      a.doWork();
      assertThat(retry).isNotDone();
      a.log().doFlushWork();
      assertThat(retry.join().duplicate()).isTrue();
      assertThat(retry.join().offset()).isEqualTo(original.join().offset());
    }
  }

  @Test
  void deduplicationSurvivesARestartAndEndsWithTheWindow() {
    try (PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 1024)) {
      a.publish(msg("s.a", "x"), "order-42");
      a.doWork();
    }
    clock.ms.addAndGet(30_000);
    try (PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 1024)) {
      CompletableFuture<PublishAck> retry = a.publish(msg("s.a", "x"), "order-42");
      a.doWork();
      assertThat(retry.join().duplicate()).isTrue();
      assertThat(retry.join().offset()).isZero();
      clock.ms.addAndGet(30_001);
      CompletableFuture<PublishAck> afterWindow = a.publish(msg("s.a", "x"), "order-42");
      a.doWork();
      assertThat(afterWindow.join().duplicate()).isFalse();
      assertThat(afterWindow.join().offset()).isEqualTo(1);
    }
  }

  @Test
  void theProducerStateIsDescribedByTheOwnerAndRebuiltFromTheLog() {
    long stamp = clock.nowMs();
    {
      PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 1024);
      CompletableFuture<List<ProducerInfo>> none = a.producers();
      assertThat(none).as("answered by the owner's next cycle").isNotDone();
      a.doWork();
      assertThat(none.join()).isEmpty();
      a.publishBatch(
          List.of(msg("s.a", "1"), msg("s.a", "2")), new ProducerSequence(7, (short) 2, 0));
      a.publish(
          msg("s.a", "3"),
          null,
          PartitionAgent.NO_EXPECTATION,
          new ProducerSequence(9, (short) 0, 0));
      a.doWork();
      CompletableFuture<List<ProducerInfo>> two = a.producers();
      a.doWork();
      assertThat(two.join())
          .containsExactlyInAnyOrder(
              new ProducerInfo(7, (short) 2, 1, stamp), new ProducerInfo(9, (short) 0, 0, stamp));
      CompletableFuture<List<ProducerInfo>> atClose = a.producers();
      a.close();
      assertThat(atClose.join()).as("what is waiting at close is answered").hasSize(2);
      assertThat(a.producers())
          .failsWithin(java.time.Duration.ZERO)
          .withThrowableThat()
          .satisfies(e -> assertThat(codeOf(e.getCause())).isEqualTo(ErrorCode.PARTITION_CLOSED));
    }
    try (PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 1024)) {
      CompletableFuture<List<ProducerInfo>> rebuilt = a.producers();
      a.doWork();
      assertThat(rebuilt.join())
          .containsExactlyInAnyOrder(
              new ProducerInfo(7, (short) 2, 1, stamp), new ProducerInfo(9, (short) 0, 0, stamp));
    }
  }

  @Test
  void oversizedMessagesAndAFullQueueGetCodedErrors() {
    StreamConfig small = StreamConfig.builder("S", "s.>").maxMessageBytes(10).build();
    try (PartitionAgent a = agent(FsyncPolicy.NEVER, small, 2)) {
      CompletableFuture<PublishAck> big = a.publish(msg("s.a", "x".repeat(11)), null);
      CompletableFuture<PublishAck> ok = a.publish(msg("s.a", "fits"), null);
      CompletableFuture<PublishAck> third = a.publish(msg("s.a", "y"), null);
      assertThatThrownBy(third::join)
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PUBLISH_BACKPRESSURE));
      a.doWork();
      assertThatThrownBy(big::join)
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.MESSAGE_TOO_LARGE));
      assertThat(ok.join().offset()).isZero();
    }
  }

  @Test
  void closingFailsWhatIsQueued() {
    PartitionAgent a = agent(FsyncPolicy.NEVER, stream(), 16);
    CompletableFuture<PublishAck> queued = a.publish(msg("s.a", "x"), null);
    a.close();
    assertThatThrownBy(queued::join)
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PARTITION_CLOSED));
    assertThatThrownBy(() -> a.publish(msg("s.a", "y"), null).join())
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PARTITION_CLOSED));
  }

  @Test
  void aRunnerThreadDrivesTheAgentFromConcurrentPublishers() throws Exception {
    PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(FsyncPolicy.ALWAYS));
    try (PartitionAgent a = new PartitionAgent("S", 0, log, stream(), clock, 4096);
        AgentRunner runner = new AgentRunner("sb-test-runner")) {
      runner.add(a);
      List<CompletableFuture<PublishAck>> acks = new java.util.concurrent.CopyOnWriteArrayList<>();
      List<Thread> publishers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int id = t;
        publishers.add(
            Thread.ofPlatform()
                .start(
                    () -> {
                      for (int i = 0; i < 250; i++) {
                        acks.add(a.publish(msg("s.p" + id, "m" + i), null));
                      }
                    }));
      }
      for (Thread t : publishers) {
        t.join();
      }
      CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
      assertThat(acks).extracting(f -> f.join().offset()).doesNotHaveDuplicates().hasSize(1000);
      assertThat(acks).allMatch(f -> f.join().durability() == Durability.FSYNCED);
      runner.remove(a);
    }
  }
}
