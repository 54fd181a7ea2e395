package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Broker#publishBatch}: a producer's batch on a named partition, idempotent as a whole. */
class ProducerBatchTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  Broker open() {
    return Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), clock);
  }

  static Message msg(String subject, String key, String body) {
    return new Message(
        subject,
        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
        List.<Header>of(),
        body.getBytes(StandardCharsets.UTF_8),
        0,
        null);
  }

  static List<Message> batch(String prefix, int n) {
    List<Message> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(msg("t.orders", "key-" + i, prefix + i));
    }
    return out;
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static List<RecordBatch> batches(Broker b, int partition) {
    return b.read("T", partition, 0, 1 << 20).batches();
  }

  static List<String> bodies(Broker b, String stream, int partition) {
    List<String> out = new ArrayList<>();
    for (RecordBatch batch : b.read(stream, partition, 0, 1 << 20).batches()) {
      for (Record r : batch.records(1 << 20)) {
        out.add(new String(r.valueBytes(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  static PublishAck send(Broker b, List<Message> ms, long pid, int epoch, int seq) {
    return b.publishBatch("T", 2, ms, pid, (short) epoch, seq).join();
  }

  @Test
  void aBatchIsStoredAsOneRecordBatchOnExactlyTheNamedPartition() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(4).build());
      b.publishBatch("T", 2, batch("x", 1), Broker.NO_PRODUCER, (short) -1, -1).join();

      PublishAck ack = send(b, batch("m", 50), 11, 0, 0);

      assertThat(ack.stream()).isEqualTo("T");
      assertThat(ack.partition()).isEqualTo(2);
      assertThat(ack.offset()).isEqualTo(1); // the batch's first offset
      assertThat(ack.duplicate()).isFalse();
      List<RecordBatch> stored = batches(b, 2);
      assertThat(stored).hasSize(2);
      RecordBatch second = stored.get(1);
      assertThat(second.baseOffset()).isEqualTo(1);
      assertThat(second.lastOffsetDelta()).isEqualTo(49);
      assertThat(second.producerId()).isEqualTo(11);
      assertThat(second.baseSequence()).isZero();
      List<Record> records = second.records(1 << 20);
      assertThat(records).extracting(Record::subject).containsOnly("t.orders");
      assertThat(records.get(7).offset()).isEqualTo(8);
      assertThat(new String(records.get(7).valueBytes(), StandardCharsets.UTF_8)).isEqualTo("m7");
      // The keys would have spread over the partitions: nothing was hashed.
      for (int p : new int[] {0, 1, 3}) {
        assertThat(batches(b, p)).isEmpty();
      }
    }
  }

  @Test
  void aRetriedBatchIsAnsweredWithTheOriginalOffsetsAndStoredOnceAlsoAfterARestart() {
    long firstBase;
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(4).build());
      firstBase = send(b, batch("a", 10), 5, 3, 0).offset();
      long second = send(b, batch("b", 10), 5, 3, 10).offset();

      PublishAck retry = send(b, batch("b", 10), 5, 3, 10);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.offset()).isEqualTo(second);
      assertThat(b.streamInfo("T").partitions().get(2).nextOffset()).isEqualTo(20);
    }
    try (Broker b = open()) {
      PublishAck retry = send(b, batch("a", 10), 5, 3, 0);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.offset()).isEqualTo(firstBase);
      assertThat(send(b, batch("c", 5), 5, 3, 20).offset()).isEqualTo(20);
      assertThat(bodies(b, "T", 2)).hasSize(25);
    }
  }

  @Test
  void gapsOverlapsAndFencedEpochsAreRefusedWithStableCodesAndStoreNothing() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(4).build());
      assertThatThrownBy(() -> send(b, batch("a", 3), 1, 0, 1))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OUT_OF_ORDER_SEQUENCE));
      send(b, batch("a", 3), 1, 0, 0);
      assertThatThrownBy(() -> send(b, batch("gap", 3), 1, 0, 4))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OUT_OF_ORDER_SEQUENCE))
          .hasMessageContaining("expected 3");
      assertThatThrownBy(() -> send(b, batch("overlap", 3), 1, 0, 2))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OUT_OF_ORDER_SEQUENCE))
          .hasMessageContaining("2..4");
      send(b, batch("e1", 2), 1, 1, 0);
      assertThatThrownBy(() -> send(b, batch("old", 2), 1, 0, 3))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PRODUCER_FENCED));
      assertThat(bodies(b, "T", 2)).containsExactly("a0", "a1", "a2", "e10", "e11");
    }
  }

  @Test
  void liveSubscribersAndBindingsSeeEveryMessageOfTheBatch() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(4).build());
      b.createStream(StreamConfig.builder("AUDIT", "audit.>").build());
      List<String> live = new CopyOnWriteArrayList<>();
      b.live()
          .subscribe("t.>", null, m -> live.add(new String(m.payload(), StandardCharsets.UTF_8)));
      b.bindDurable(
              BindingSpec.builder("test", "audit", "t.orders", "AUDIT")
                  .fixedSubject("audit.orders")
                  .build(),
              Runnable::run)
          .join();

      PublishAck ack = send(b, batch("m", 5), 8, 0, 0);

      // The copies are stored before the batch is acknowledged.
      assertThat(bodies(b, "AUDIT", 0)).containsExactly("m0", "m1", "m2", "m3", "m4");
      await().until(() -> live.size() == 5);
      assertThat(live).containsExactly("m0", "m1", "m2", "m3", "m4");
      assertThat(ack.offset()).isZero();

      // A retry is answered as a duplicate and makes no second copy.
      assertThat(send(b, batch("m", 5), 8, 0, 0).duplicate()).isTrue();
      assertThat(bodies(b, "AUDIT", 0)).hasSize(5);
    }
  }

  @Test
  void badBatchesAreRefusedWithAClearError() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(4).build());
      b.createStream(StreamConfig.builder("OTHER", "o.>").build());
      assertThatThrownBy(() -> b.publishBatch("T", 4, batch("a", 1), -1, (short) -1, -1).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT))
          .hasMessageContaining("partitions 0..3");
      assertThatThrownBy(() -> b.publishBatch("T", 0, List.of(), -1, (short) -1, -1).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> b.publishBatch("NOPE", 0, batch("a", 1), -1, (short) -1, -1).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STREAM_NOT_FOUND));
      List<Message> mixed = new ArrayList<>(batch("a", 2));
      mixed.add(msg("o.x", null, "elsewhere"));
      assertThatThrownBy(() -> b.publishBatch("T", 0, mixed, -1, (short) -1, -1).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STREAM_MISMATCH))
          .hasMessageContaining("o.x");
      Message delayed =
          msg("t.orders", null, "later")
              .withHeader("sb-delay-ms", "5000".getBytes(StandardCharsets.US_ASCII));
      assertThatThrownBy(() -> b.publishBatch("T", 0, List.of(delayed), -1, (short) -1, -1).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_DELAY));
      Message big =
          new Message(
              "t.orders",
              null,
              List.<Header>of(),
              new byte[b.streamInfo("T").config().maxMessageBytes() + 1],
              0,
              null);
      List<Message> withBig = new ArrayList<>(batch("a", 2));
      withBig.add(big);
      assertThatThrownBy(() -> b.publishBatch("T", 0, withBig, -1, (short) -1, -1).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.MESSAGE_TOO_LARGE));
      for (int p = 0; p < 4; p++) {
        assertThat(batches(b, p)).as("partition %s", p).isEmpty();
      }
    }
  }

  @Test
  void concurrentBatchesOfOneProducerKeepTheirOrderAndEachItsOwnRecordBatch() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(4).build());
      List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        acks.add(b.publishBatch("T", 2, batch("b" + i + "-", 3), 4, (short) 0, i * 3));
        acks.add(b.publish(msg("t.orders", "k", "plain" + i), PublishOptions.NONE));
      }
      acks.forEach(CompletableFuture::join);
      long producerBatches = batches(b, 2).stream().filter(rb -> rb.producerId() == 4).count();
      assertThat(producerBatches).isEqualTo(20);
      for (RecordBatch rb : batches(b, 2)) {
        if (rb.producerId() == 4) {
          assertThat(rb.lastOffsetDelta()).isEqualTo(2);
        }
      }
    }
  }
}
