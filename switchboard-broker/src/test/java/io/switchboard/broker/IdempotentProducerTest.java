package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.RecordBatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kafka-style idempotent producers: no duplicates from retries, no gaps, fencing by epoch. */
class IdempotentProducerTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), Clock.SYSTEM);
  }

  static Message m(String body) {
    return Message.of("p.x", body.getBytes(StandardCharsets.UTF_8), 0);
  }

  static PublishAck send(Broker b, long pid, int epoch, int seq) {
    return b.publish(
            m(pid + "/" + epoch + "/" + seq), PublishOptions.idempotent(pid, (short) epoch, seq))
        .join();
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static List<RecordBatch> batches(Broker b) {
    return b.read("P", 0, 0, 1 << 20).batches();
  }

  @Test
  void retriesAreAnsweredWithTheOriginalOffsetAndStoredOnce() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      PublishAck a0 = send(b, 7, 0, 0);
      PublishAck a1 = send(b, 7, 0, 1);
      send(b, 7, 0, 2);
      PublishAck retry = send(b, 7, 0, 1);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.offset()).isEqualTo(a1.offset());
      assertThat(b.streamInfo("P").messages()).isEqualTo(3);
      RecordBatch first = batches(b).getFirst();
      assertThat(first.producerId()).isEqualTo(7);
      assertThat(first.producerEpoch()).isEqualTo((short) 0);
      assertThat(first.baseSequence()).isZero();
      assertThat(a0.offset()).isZero();
    }
  }

  @Test
  void gapsAndBadStartsAreRejectedAndNothingIsStored() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      assertThatThrownBy(() -> send(b, 1, 0, 3))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OUT_OF_ORDER_SEQUENCE))
          .hasMessageContaining("starts at sequence 0");
      send(b, 1, 0, 0);
      send(b, 1, 0, 1);
      assertThatThrownBy(() -> send(b, 1, 0, 3))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OUT_OF_ORDER_SEQUENCE))
          .hasMessageContaining("expected 2");
      assertThat(b.streamInfo("P").messages()).isEqualTo(2);
    }
  }

  @Test
  void aNewerEpochFencesTheOlderOne() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      send(b, 9, 0, 0);
      send(b, 9, 0, 1);
      assertThatThrownBy(() -> send(b, 9, 1, 5))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OUT_OF_ORDER_SEQUENCE));
      send(b, 9, 1, 0);
      assertThatThrownBy(() -> send(b, 9, 0, 2))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PRODUCER_FENCED));
      assertThat(send(b, 9, 1, 1).duplicate()).isFalse();
    }
  }

  @Test
  void producerStateIsRebuiltFromTheLogOnRestart() {
    long offsetOfSeq4;
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      for (int s = 0; s < 5; s++) {
        send(b, 3, 2, s);
      }
      offsetOfSeq4 = b.streamInfo("P").partitions().getFirst().nextOffset() - 1;
    }
    try (Broker b = open()) {
      PublishAck retry = send(b, 3, 2, 4);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.offset()).isEqualTo(offsetOfSeq4);
      assertThat(send(b, 3, 2, 5).duplicate()).isFalse();
      assertThatThrownBy(() -> send(b, 3, 1, 0))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PRODUCER_FENCED));
      assertThat(b.streamInfo("P").messages()).isEqualTo(6);
    }
  }

  @Test
  void producersAndPlainPublishesInterleavedKeepOneProducerPerBatch() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("P", "p.>").build());
      List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
      for (int s = 0; s < 10; s++) {
        acks.add(b.publish(m("a" + s), PublishOptions.idempotent(1, (short) 0, s)));
        acks.add(b.publish(m("b" + s), PublishOptions.idempotent(2, (short) 0, s)));
        acks.add(b.publish(m("plain" + s), PublishOptions.NONE));
      }
      acks.forEach(CompletableFuture::join);
      assertThat(acks).allMatch(f -> !f.join().duplicate());
      long count = 0;
      for (RecordBatch batch : batches(b)) {
        var records = batch.records(1 << 20);
        count += records.size();
        for (var r : records) {
          String body = new String(r.valueBytes(), StandardCharsets.UTF_8);
          long expectedPid = body.startsWith("a") ? 1 : body.startsWith("b") ? 2 : -1;
          assertThat(batch.producerId()).as("record %s", body).isEqualTo(expectedPid);
          if (expectedPid >= 0) {
            int seq = Integer.parseInt(body.substring(1));
            assertThat(batch.baseSequence() + (r.offset() - batch.baseOffset())).isEqualTo(seq);
          }
        }
      }
      assertThat(count).isEqualTo(30);
    }
  }
}
