package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.stream.Durability;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, io.switchboard.broker.live.LiveBusConfig.DEFAULTS, 2, 1024, 60_000),
        Clock.SYSTEM);
  }

  static Message msg(String subject, String key, String body) {
    return new Message(
        subject,
        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
        List.of(),
        body.getBytes(StandardCharsets.UTF_8),
        0,
        null);
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static List<Record> all(Broker b, String stream, int partition) {
    List<Record> out = new ArrayList<>();
    for (RecordBatch batch : b.read(stream, partition, 0, 1 << 20).batches()) {
      out.addAll(batch.records(1 << 20));
    }
    return out;
  }

  @Test
  void capturedSubjectsArePersistedAndEverySubjectReachesLiveSubscribers() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "orders.>").fsync(FsyncPolicy.ALWAYS).build());
      ConcurrentLinkedQueue<Message> seen = new ConcurrentLinkedQueue<>();
      b.live().subscribe(">", null, seen::add);
      PublishAck stored = b.publish(msg("orders.eu.1", null, "a"), PublishOptions.NONE).join();
      assertThat(stored.stream()).isEqualTo("ORDERS");
      assertThat(stored.offset()).isZero();
      assertThat(stored.durability()).isEqualTo(Durability.FSYNCED);
      PublishAck liveOnly = b.publish(msg("chat.room", null, "b"), PublishOptions.NONE).join();
      assertThat(liveOnly.durability()).isEqualTo(Durability.MEMORY);
      assertThat(liveOnly.stream()).isNull();
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 2);
      assertThat(all(b, "ORDERS", 0)).extracting(Record::subject).containsExactly("orders.eu.1");
    }
  }

  @Test
  void aKeyAlwaysLandsInTheSamePartitionAsKafkaWouldPutIt() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("EVENTS", "events.>").partitions(8).build());
      Set<Integer> used = new HashSet<>();
      for (int k = 0; k < 50; k++) {
        String key = "customer-" + k;
        int first = -1;
        for (int i = 0; i < 3; i++) {
          PublishAck ack = b.publish(msg("events.x", key, "e" + i), PublishOptions.NONE).join();
          if (first < 0) {
            first = ack.partition();
          }
          assertThat(ack.partition()).isEqualTo(first);
        }
        assertThat(first).isEqualTo(Murmur2.partition(key.getBytes(StandardCharsets.UTF_8), 8));
        used.add(first);
      }
      assertThat(used.size()).isGreaterThan(4);
      StreamInfo info = b.streamInfo("EVENTS");
      assertThat(info.messages()).isEqualTo(150);
      assertThat(info.partitions()).hasSize(8);
    }
  }

  @Test
  void murmur2MatchesKafkasPublishedValues() {
    // Values from Kafka's own partitioner tests (Utils.murmur2 on these strings).
    assertThat(Murmur2.hash("21".getBytes(StandardCharsets.UTF_8))).isEqualTo(-973932308);
    assertThat(Murmur2.hash("foobar".getBytes(StandardCharsets.UTF_8))).isEqualTo(-790332482);
    assertThat(Murmur2.hash("a-little-bit-long-string".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(-985981536);
    assertThat(Murmur2.hash("a-little-bit-longer-string".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(-1486304829);
    assertThat(
            Murmur2.hash(
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"
                    .getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(-58897971);
    assertThat(Murmur2.hash(new byte[] {'a', 'b', 'c'})).isEqualTo(479470107);
  }

  @Test
  void anExpectedStreamThatDoesNotCaptureTheSubjectIsRejected() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "orders.>").build());
      CompletableFuture<PublishAck> wrong =
          b.publish(msg("orders.1", null, "x"), new PublishOptions("PAYMENTS", null));
      assertThatThrownBy(wrong::join)
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STREAM_MISMATCH))
          .hasMessageContaining("stream \"ORDERS\"");
      CompletableFuture<PublishAck> none =
          b.publish(msg("other.1", null, "x"), new PublishOptions("ORDERS", null));
      assertThatThrownBy(none::join).hasMessageContaining("no stream");
      assertThat(
              b.publish(msg("orders.1", null, "x"), new PublishOptions("ORDERS", null))
                  .join()
                  .offset())
          .isZero();
      assertThatThrownBy(
              () -> b.publish(msg("bad..subject", null, "x"), PublishOptions.NONE).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_SUBJECT));
    }
  }

  @Test
  void streamsAndTheirMessagesSurviveARestart() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "orders.>").partitions(2).build());
      for (int i = 0; i < 20; i++) {
        b.publish(msg("orders." + i, null, "v" + i), PublishOptions.messageId("id-" + i)).join();
      }
    }
    try (Broker b = open()) {
      assertThat(b.streamInfo("ORDERS").messages()).isEqualTo(20);
      // A producer retrying across the restart is de-duplicated.
      PublishAck retry =
          b.publish(msg("orders.7", null, "v7"), PublishOptions.messageId("id-7")).join();
      assertThat(retry.duplicate()).isTrue();
      assertThat(b.streamInfo("ORDERS").messages()).isEqualTo(20);
      PublishAck next = b.publish(msg("orders.7", null, "new"), PublishOptions.NONE).join();
      assertThat(next.duplicate()).isFalse();
      assertThat(b.streamInfo("ORDERS").messages()).isEqualTo(21);
    }
  }

  @Test
  void updatingGrowsPartitionsAndDeletingRemovesTheData() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("S", "s.>").partitions(1).build());
      b.publish(msg("s.a", null, "x"), PublishOptions.NONE).join();
      StreamInfo grown = b.updateStream(StreamConfig.builder("S", "s.>").partitions(3).build());
      assertThat(grown.partitions()).hasSize(3);
      assertThat(grown.messages()).isEqualTo(1);
      b.deleteStream("S");
      assertThat(Files.exists(dir.resolve("streams").resolve("S"))).isFalse();
      assertThat(b.publish(msg("s.a", null, "x"), PublishOptions.NONE).join().durability())
          .isEqualTo(Durability.MEMORY);
      assertThatThrownBy(() -> b.streamInfo("S"))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.STREAM_NOT_FOUND));
    }
  }

  @Test
  void aPerSubjectLimitKeepsTheNewestMessagesOfEachSubject() {
    ManualClock clock = new ManualClock();
    try (Broker b =
        Broker.open(
            new BrokerConfig(
                dir, io.switchboard.broker.live.LiveBusConfig.DEFAULTS, 1, 1024, 3_600_000),
            clock)) {
      b.createStream(StreamConfig.builder("KV", "kv.>").maxMessagesPerSubject(2).build());
      for (int i = 0; i < 30; i++) {
        b.publish(msg("kv.k" + (i % 3), null, "v" + i), PublishOptions.NONE).join();
      }
      // Past the hourly roll, the next publish seals the segment; compaction then trims it.
      clock.ms.addAndGet(Broker.PER_SUBJECT_SEGMENT_MS + 1);
      b.publish(msg("kv.other", null, "x"), PublishOptions.NONE).join();
      b.runMaintenance();
      for (int k = 0; k < 3; k++) {
        String subject = "kv.k" + k;
        List<String> values =
            b.readSubject("KV", subject, 0, 100).stream()
                .map(m -> new String(m.message().payload(), StandardCharsets.UTF_8))
                .toList();
        assertThat(values).as(subject).containsExactly("v" + (24 + k), "v" + (27 + k));
      }
      assertThat(b.lastMessage("KV", "kv.k0")).isPresent();
    }
  }

  @Test
  void lastMessagesScansTheNewestOfEveryMatchingSubject() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("KV", "kv.>").partitions(3).build());
      for (String[] kv :
          new String[][] {{"kv.a.1", "old"}, {"kv.a.1", "new"}, {"kv.a.2", "x"}, {"kv.b.1", "y"}}) {
        b.publish(msg(kv[0], null, kv[1]), PublishOptions.NONE).join();
      }
      assertThat(b.lastMessages("KV", "kv.a.*", 100))
          .extracting(
              m ->
                  m.message().subject()
                      + "="
                      + new String(m.message().payload(), StandardCharsets.UTF_8))
          .containsExactlyInAnyOrder("kv.a.1=new", "kv.a.2=x");
      assertThat(b.lastMessages("KV", "kv.>", 2)).hasSize(2);
      assertThat(b.lastMessages("KV", "nothing.here", 10)).isEmpty();
    }
  }

  @Test
  void aPerSubjectLimitOnACompactedStreamIsRefused() {
    assertThatThrownBy(
            () ->
                StreamConfig.builder("S", "s.>")
                    .retention(Retention.COMPACTED)
                    .maxMessagesPerSubject(10)
                    .build())
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_CONFIG);
              assertThat(e.getMessage()).contains("maxMessagesPerSubject");
            });
  }

  @Test
  void readingAPartitionOutOfRangeIsACodedError() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("S", "s.>").partitions(2).build());
      assertThatThrownBy(() -> b.read("S", 2, 0, 100))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    }
  }

  @Test
  void afterCloseEveryCallSaysSo() {
    Broker b = open();
    b.close();
    assertThatThrownBy(() -> b.publish(msg("a", null, "x"), PublishOptions.NONE).join())
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.BROKER_CLOSED));
  }

  /** Issue 12 §3: DELETE /v1/streams/MQTT_SESSIONS answered 204, and sessions were lost. */
  @Test
  void streamsAndConsumersTheServerOwnsAreRefusedToTheAdminCalls() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("OWNED", "owned.>").build());
      b.createStream(StreamConfig.builder("USER", "user.>").build());
      b.ownStream("OWNED", "MQTT sessions");
      b.ownConsumers("sys-", "stream followers");
      io.switchboard.broker.consumer.ConsumerConfig inbox =
          io.switchboard.broker.consumer.ConsumerConfig.builder("inbox-1").build();

      assertThatThrownBy(() -> b.deleteStream("OWNED"))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.STREAM_RESERVED);
                assertThat(e.getMessage())
                    .contains("\"OWNED\" belongs to the server (MQTT sessions)", "deleted");
              });
      assertThatThrownBy(() -> b.updateStream(StreamConfig.builder("OWNED", "owned.>").build()))
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.STREAM_RESERVED));
      assertThatThrownBy(() -> b.createConsumer("OWNED", inbox))
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.CONSUMER_RESERVED));

      // The owner manages its consumers; the admin calls still may not touch them.
      b.createOwnedConsumer("OWNED", inbox);
      assertThatThrownBy(() -> b.deleteConsumer("OWNED", "inbox-1"))
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.CONSUMER_RESERVED));
      b.deleteOwnedConsumer("OWNED", "inbox-1");
      assertThat(b.listConsumers("OWNED")).isEmpty();

      // On a user's stream, only consumers under an owned name prefix are the server's.
      io.switchboard.broker.consumer.ConsumerConfig follower =
          io.switchboard.broker.consumer.ConsumerConfig.builder("sys-follow-1").build();
      assertThatThrownBy(() -> b.createConsumer("USER", follower))
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.CONSUMER_RESERVED));
      b.createOwnedConsumer("USER", follower);
      assertThatThrownBy(() -> b.deleteConsumer("USER", "sys-follow-1"))
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.CONSUMER_RESERVED));
      b.createConsumer(
          "USER", io.switchboard.broker.consumer.ConsumerConfig.builder("mine").build());
      b.deleteConsumer("USER", "mine");
      b.deleteStream("USER");
      assertThat(b.streamInfo("OWNED").config().name()).isEqualTo("OWNED");
    }
  }
}
