package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.ConsumerAgent;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerConsumerTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 4096, 60_000), Clock.SYSTEM);
  }

  static Message m(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  static String body(Delivery d) {
    return new String(d.message().payload(), StandardCharsets.UTF_8);
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  @Test
  void pendingCountsWhatIsPublishedAndNotYetDeliveredInEveryPartition() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("LAG", "lag.>").partitions(3).build());
      b.createConsumer("LAG", ConsumerConfig.builder("c").build());
      assertThat(b.consumerInfo("LAG", "c").pending()).isZero();
      for (int i = 0; i < 30; i++) {
        b.publish(m("lag.k" + i, "x" + i), PublishOptions.NONE).join();
      }
      assertThat(b.consumerInfo("LAG", "c").pending()).isEqualTo(30);
      List<Delivery> got = b.fetch("LAG", "c", "m", 12, 0).join();
      assertThat(got).hasSize(12);
      assertThat(b.consumerInfo("LAG", "c").pending()).isEqualTo(18);
      assertThat(b.consumerInfo("LAG", "c").unacknowledged()).isEqualTo(12);
    }
  }

  @Test
  void aWorkQueueWithTwoMembersDeliversEveryMessageOnce() throws Exception {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("JOBS", "jobs.>").partitions(3).build());
      b.createConsumer("JOBS", ConsumerConfig.builder("workers").build());
      for (int i = 0; i < 300; i++) {
        b.publish(m("jobs.k" + (i % 10), "j" + i), PublishOptions.NONE).join();
      }
      List<String> done = Collections.synchronizedList(new ArrayList<>());
      List<Thread> members = new ArrayList<>();
      for (String member : List.of("a", "b")) {
        members.add(
            Thread.ofPlatform()
                .start(
                    () -> {
                      while (done.size() < 300) {
                        for (Delivery d : b.fetch("JOBS", "workers", member, 16, 200).join()) {
                          done.add(body(d));
                          b.ack("JOBS", "workers", d.partition(), d.offset()).join();
                        }
                      }
                    }));
      }
      for (Thread t : members) {
        t.join(30_000);
      }
      assertThat(done).hasSize(300).doesNotHaveDuplicates();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> b.consumerInfo("JOBS", "workers").unacknowledged() == 0);
    }
  }

  @Test
  void aConsumerResumesAfterARestartAndRedeliversWhatWasNotAcknowledged() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("Q", "q.>").build());
      b.createConsumer("Q", ConsumerConfig.builder("c").build());
      for (int i = 0; i < 5; i++) {
        b.publish(m("q.x", "m" + i), PublishOptions.NONE).join();
      }
      List<Delivery> got = b.fetch("Q", "c", "a", 3, 1000).join();
      assertThat(got).extracting(BrokerConsumerTest::body).containsExactly("m0", "m1", "m2");
      b.ack("Q", "c", got.get(0).partition(), got.get(0).offset()).join();
      b.ack("Q", "c", got.get(2).partition(), got.get(2).offset()).join();
    }
    try (Broker b = open()) {
      assertThat(b.listConsumers("Q")).hasSize(1);
      List<Delivery> again = new ArrayList<>();
      while (again.size() < 3) {
        again.addAll(b.fetch("Q", "c", "a", 10, 1000).join());
      }
      assertThat(again).extracting(BrokerConsumerTest::body).containsExactly("m1", "m3", "m4");
      assertThat(again.getFirst().deliveryCount()).isEqualTo(2);
    }
  }

  @Test
  void deadLettersArePublishedAndCapturedByTheirOwnStream() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "orders.>").build());
      b.createStream(StreamConfig.builder("DLQ", "dlq.>").build());
      b.createConsumer(
          "ORDERS",
          ConsumerConfig.builder("billing").maxDeliver(2).deadLetterSubject("dlq.orders").build());
      b.publish(m("orders.1", "bad order"), PublishOptions.NONE).join();
      for (int i = 0; i < 2; i++) {
        Delivery d = b.fetch("ORDERS", "billing", "a", 1, 2000).join().getFirst();
        b.nack("ORDERS", "billing", d.partition(), d.offset(), d.deliveryCount(), 0, "invalid card")
            .join();
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> b.streamInfo("DLQ").messages() == 1);
      StoredMessage dead = b.readSubject("DLQ", "dlq.orders", 0, 1).getFirst();
      assertThat(new String(dead.message().payload(), StandardCharsets.UTF_8))
          .isEqualTo("bad order");
      assertThat(
              new String(
                  dead.message().header(ConsumerAgent.DLQ_LAST_ERROR), StandardCharsets.UTF_8))
          .isEqualTo("invalid card");
      assertThat(b.consumerInfo("ORDERS", "billing").deadLettered()).isEqualTo(1);
      assertThat(b.fetch("ORDERS", "billing", "a", 1, 100).join()).isEmpty();
    }
  }

  @Test
  void badConsumerRequestsGetCodedErrors() {
    try (Broker b = open()) {
      assertThatThrownBy(() -> b.createConsumer("NOPE", ConsumerConfig.builder("c").build()))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.STREAM_NOT_FOUND));
      b.createStream(StreamConfig.builder("S", "s.>").build());
      b.createConsumer("S", ConsumerConfig.builder("c").build());
      assertThatThrownBy(() -> b.createConsumer("S", ConsumerConfig.builder("c").build()))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.CONSUMER_EXISTS));
      assertThatThrownBy(() -> b.fetch("S", "ghost", "a", 1, 0).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.CONSUMER_NOT_FOUND));
      assertThatThrownBy(() -> b.fetch("S", "c", "a", 0, 0).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    }
  }

  @Test
  void deletingAConsumerRemovesItsStateAndConsumersSurviveAPartitionReopen() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("S", "s.>").build());
      b.createConsumer("S", ConsumerConfig.builder("keep").build());
      b.createConsumer("S", ConsumerConfig.builder("drop").build());
      b.deleteConsumer("S", "drop");
      Path dropDir = dir.resolve("streams").resolve("S").resolve("consumers").resolve("drop");
      await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dropDir));
      b.publish(m("s.a", "before"), PublishOptions.NONE).join();
      b.updateStream(StreamConfig.builder("S", "s.>").partitions(2).build());
      b.publish(m("s.b", "after"), PublishOptions.NONE).join();
      List<String> got = new ArrayList<>();
      while (got.size() < 2) {
        b.fetch("S", "keep", "a", 10, 1000).join().forEach(d -> got.add(body(d)));
      }
      assertThat(got).containsExactlyInAnyOrder("before", "after");
      assertThat(b.listConsumers("S")).extracting(c -> c.config().name()).containsExactly("keep");
    }
  }

  @Test
  void aLastPerSubjectConsumerGetsTheCurrentStateThenChanges() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("KV", "config.>", "other.>").partitions(2).build());
      b.publish(m("config.a", "a1"), PublishOptions.NONE).join();
      b.publish(m("config.b", "b1"), PublishOptions.NONE).join();
      b.publish(m("config.a", "a2"), PublishOptions.NONE).join();
      b.publish(m("other.x", "x1"), PublishOptions.NONE).join();
      b.createConsumer(
          "KV",
          ConsumerConfig.builder("watch")
              .filter("config.>")
              .startAt(io.switchboard.broker.consumer.StartPosition.LAST_PER_SUBJECT)
              .build());
      List<String> state = new ArrayList<>();
      while (state.size() < 2) {
        for (Delivery d : b.fetch("KV", "watch", "w", 10, 1000).join()) {
          state.add(body(d));
          b.ack("KV", "watch", d.partition(), d.offset()).join();
        }
      }
      assertThat(state).containsExactlyInAnyOrder("a2", "b1");
      b.publish(m("config.b", "b2"), PublishOptions.NONE).join();
      List<Delivery> change = b.fetch("KV", "watch", "w", 10, 2000).join();
      assertThat(change).extracting(BrokerConsumerTest::body).containsExactly("b2");
    }
  }
}
