package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Event-store use: optimistic concurrency per subject, reads by subject, last value. */
class EventStoreTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 1024, 60_000), Clock.SYSTEM);
  }

  static Message event(String subject, String body) {
    return new Message(
        subject,
        null,
        List.of(new Header("type", "OrderEvent".getBytes(StandardCharsets.UTF_8))),
        body.getBytes(StandardCharsets.UTF_8),
        0,
        null);
  }

  static String body(StoredMessage m) {
    return new String(m.message().payload(), StandardCharsets.UTF_8);
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static PublishAck append(Broker b, String subject, String body, long expected) {
    return b.publish(event(subject, body), PublishOptions.expectLastOffset(expected)).join();
  }

  @Test
  void appendsSucceedOnlyAgainstTheCurrentLastOffsetOfTheirSubject() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "order.*").build());
      PublishAck created = append(b, "order.1234", "created", -1);
      append(b, "order.9", "other aggregate", -1);
      assertThatThrownBy(() -> append(b, "order.1234", "created again", -1))
          .satisfies(
              t -> {
                assertThat(codeOf(t)).isEqualTo(ErrorCode.PUBLISH_CONFLICT);
                assertThat(t).hasMessageContaining("at offset " + created.offset());
              });
      PublishAck paid = append(b, "order.1234", "paid", created.offset());
      assertThatThrownBy(() -> append(b, "order.1234", "stale", created.offset()))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PUBLISH_CONFLICT));
      assertThat(b.readSubject("ORDERS", "order.1234", 0, 100))
          .extracting(EventStoreTest::body)
          .containsExactly("created", "paid");
      assertThat(paid.offset()).isGreaterThan(created.offset());
    }
  }

  @Test
  void ofRacingWritersWithTheSameExpectationExactlyOneWins() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ACCOUNTS", "account.*").partitions(3).build());
      long expected = -1;
      for (int round = 0; round < 20; round++) {
        List<CompletableFuture<PublishAck>> racers = new ArrayList<>();
        for (int w = 0; w < 8; w++) {
          racers.add(
              b.publish(
                  event("account.42", "r" + round + "w" + w),
                  PublishOptions.expectLastOffset(expected)));
        }
        List<PublishAck> winners = new ArrayList<>();
        for (CompletableFuture<PublishAck> f : racers) {
          try {
            winners.add(f.join());
          } catch (CompletionException e) {
            assertThat(codeOf(e)).isEqualTo(ErrorCode.PUBLISH_CONFLICT);
          }
        }
        assertThat(winners).as("round %d", round).hasSize(1);
        expected = winners.getFirst().offset();
      }
      assertThat(b.readSubject("ACCOUNTS", "account.42", 0, 1000)).hasSize(20);
    }
  }

  @Test
  void readsBySubjectPageByOffsetAndSkipOtherSubjects() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "order.*").build());
      for (int i = 0; i < 30; i++) {
        b.publish(event("order." + (i % 3), "e" + i), PublishOptions.NONE).join();
      }
      List<StoredMessage> first = b.readSubject("ORDERS", "order.1", 0, 4);
      assertThat(first).extracting(EventStoreTest::body).containsExactly("e1", "e4", "e7", "e10");
      List<StoredMessage> rest =
          b.readSubject("ORDERS", "order.1", first.getLast().offset() + 1, 100);
      assertThat(rest)
          .extracting(EventStoreTest::body)
          .containsExactly("e13", "e16", "e19", "e22", "e25", "e28");
      StoredMessage m = first.getFirst();
      assertThat(m.message().subject()).isEqualTo("order.1");
      assertThat(m.message().header("type"))
          .isEqualTo("OrderEvent".getBytes(StandardCharsets.UTF_8));
      assertThat(m.message().headers()).hasSize(1);
      assertThat(b.readSubject("ORDERS", "order.77", 0, 10)).isEmpty();
    }
  }

  @Test
  void lastMessageIsTheKeyValueGet() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("CONFIG", "config.>").partitions(4).build());
      assertThat(b.lastMessage("CONFIG", "config.db.url")).isEmpty();
      b.publish(event("config.db.url", "v1"), PublishOptions.NONE).join();
      b.publish(event("config.db.pool", "10"), PublishOptions.NONE).join();
      b.publish(event("config.db.url", "v2"), PublishOptions.NONE).join();
      assertThat(b.lastMessage("CONFIG", "config.db.url")).map(EventStoreTest::body).contains("v2");
      assertThat(b.lastMessage("CONFIG", "config.db.pool"))
          .map(EventStoreTest::body)
          .contains("10");
    }
  }

  @Test
  void theSubjectIndexIsRebuiltOnRestart() {
    long last;
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "order.*").build());
      append(b, "order.1", "a", -1);
      last = append(b, "order.1", "b", 0).offset();
    }
    try (Broker b = open()) {
      assertThatThrownBy(() -> append(b, "order.1", "stale", 0))
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.PUBLISH_CONFLICT));
      append(b, "order.1", "c", last);
      assertThat(b.lastMessage("ORDERS", "order.1")).map(EventStoreTest::body).contains("c");
      assertThat(b.readSubject("ORDERS", "order.1", 0, 10))
          .extracting(EventStoreTest::body)
          .containsExactly("a", "b", "c");
    }
  }
}
