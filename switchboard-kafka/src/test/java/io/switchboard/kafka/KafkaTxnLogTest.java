package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.group.StreamPartition;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.kafka.KafkaTxnLog.Commit;
import io.switchboard.kafka.KafkaTxnLog.Offset;
import io.switchboard.kafka.KafkaTxnLog.PartitionKey;
import io.switchboard.kafka.KafkaTxnLog.PartitionRecords;
import io.switchboard.kafka.KafkaTxnLog.Producer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The transaction log on its own, and a decided commit applied when the front end starts. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KafkaTxnLogTest {
  @TempDir Path dir;

  static final long PID = 7;

  static Commit commit(long number, int base, String... values) {
    SimpleRecord[] records = new SimpleRecord[values.length];
    for (int i = 0; i < values.length; i++) {
      records[i] = new SimpleRecord(values[i].getBytes());
    }
    ByteBuffer b =
        MemoryRecords.withTransactionalRecords(Compression.NONE, PID, (short) 0, base, records)
            .buffer();
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return new Commit(
        number,
        "app",
        PID,
        (short) 0,
        List.of(
            new PartitionRecords(new PartitionKey("t", 0), base, values.length, List.of(bytes))),
        List.of(new Offset("g", new PartitionKey("t", 0), 42, "meta")));
  }

  @Test
  void aTornTailIsCutAndEverythingBeforeItIsKept() throws Exception {
    try (KafkaTxnLog log = KafkaTxnLog.open(dir)) {
      log.producer(new Producer("app", PID, (short) 0, 60_000, Map.of()));
      log.commit(commit(log.nextCommitNumber(), 0, "a", "b"));
      log.commit(commit(log.nextCommitNumber(), 2, "c"));
      log.applied(1);
    }
    Path file = dir.resolve(KafkaTxnLog.DIR).resolve(KafkaTxnLog.FILE);
    long good = Files.size(file);
    // A record cut short by a crash: its length says more than is there.
    Files.write(file, new byte[] {0, 0, 1, 0, 1, 2, 3}, StandardOpenOption.APPEND);
    try (KafkaTxnLog log = KafkaTxnLog.open(dir)) {
      assertThat(Files.size(file)).isEqualTo(good);
      assertThat(log.pending()).extracting(Commit::number).containsExactly(2L);
      assertThat(log.producers().get("app").sequences())
          .as("the sequences the commits took")
          .isEqualTo(Map.of(new PartitionKey("t", 0), 3));
      assertThat(log.nextCommitNumber()).isEqualTo(3);
    }
  }

  @Test
  void aDecidedCommitIsAppliedAtStartAndOnlyOnceWhenAppliedAgain() throws Exception {
    Path data = dir.resolve("data");
    ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
    try {
      Broker broker = Broker.open(BrokerConfig.defaults(data), Clock.SYSTEM);
      broker.createStream(StreamConfig.builder("t", "t", "t.>").build());
      // A crash after the decision was forced, before any of it was applied.
      try (KafkaTxnLog log = KafkaTxnLog.open(data)) {
        log.producer(new Producer("app", PID, (short) 0, 60_000, Map.of()));
        log.commit(commit(log.nextCommitNumber(), 0, "a", "b"));
      }
      KafkaTransactions txns = open(broker, loop);
      txns.close();
      assertThat(broker.partitionBounds("t", 0).highWatermark()).isEqualTo(2);
      assertThat(broker.groups().fetch("g", List.of(new StreamPartition("t", 0))))
          .extractingByKey(new StreamPartition("t", 0))
          .satisfies(c -> assertThat(c.offset()).isEqualTo(42));
      try (KafkaTxnLog log = KafkaTxnLog.open(data)) {
        assertThat(log.pending()).as("marked applied").isEmpty();
      }
      broker.close();

      // A crash after the records were stored, before the commit was marked applied: the same
      // decision once more, after a restart of the broker (its producer state rebuilt from the
      // log).
      Files.delete(data.resolve(KafkaTxnLog.DIR).resolve(KafkaTxnLog.FILE));
      try (KafkaTxnLog log = KafkaTxnLog.open(data)) {
        log.producer(new Producer("app", PID, (short) 0, 60_000, Map.of()));
        log.commit(commit(log.nextCommitNumber(), 0, "a", "b"));
      }
      broker = Broker.open(BrokerConfig.defaults(data), Clock.SYSTEM);
      open(broker, loop).close();
      assertThat(broker.partitionBounds("t", 0).highWatermark())
          .as("stored once: the broker knew the producer's sequences")
          .isEqualTo(2);
      broker.close();
    } finally {
      loop.shutdownNow();
    }
  }

  private static KafkaTransactions open(Broker broker, ScheduledExecutorService loop) {
    return KafkaTransactions.open(
        broker,
        loop,
        System::currentTimeMillis,
        new KafkaTransactions.Limits(1 << 20, 1 << 22, 100, 60_000));
  }
}
