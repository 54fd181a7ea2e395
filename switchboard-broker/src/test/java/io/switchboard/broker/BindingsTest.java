package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Message;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bindings copy a publish into streams before the publish is acknowledged. */
class BindingsTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  Broker open() {
    return Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), clock);
  }

  static Message msg(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  static void bind(Broker b, String name, String pattern, String group, String copySubject) {
    b.bindDurable(
            BindingSpec.builder("test", name, pattern, "INBOX")
                .fixedSubject(copySubject)
                .group(group)
                .build(),
            Runnable::run)
        .join();
  }

  /** Every message stored in a stream's first partition, in order. */
  static List<Message> stored(Broker b, String stream) {
    List<Message> out = new ArrayList<>();
    for (StoredMessage m : b.readMessages(stream, 0, 0, 1 << 20, 0).messages()) {
      out.add(m.message());
    }
    return out;
  }

  static List<String> bodies(Broker b, String stream) {
    return stored(b, stream).stream()
        .map(m -> new String(m.payload(), StandardCharsets.UTF_8))
        .toList();
  }

  @Test
  void aPublishOnASubjectNoStreamCapturesIsStoredInTheBoundStreamBeforeItsAck() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      bind(b, "a", "orders.>", null, "inbox.a");

      PublishAck ack = b.publish(msg("orders.1", "one"), PublishOptions.NONE).join();

      // The original is live only, but the copy is already in the stream when the ack arrives.
      assertThat(ack.stream()).isNull();
      assertThat(bodies(b, "INBOX")).containsExactly("one");
      assertThat(b.publish(msg("other.1", "x"), PublishOptions.NONE).join().stream()).isNull();
      assertThat(bodies(b, "INBOX")).containsExactly("one");
      assertThat(b.bindingCount()).isEqualTo(1);
    }
  }

  @Test
  void membersOfAGroupTakeMessagesInTurnAndOthersGetEveryOne() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      bind(b, "w1", "jobs.*", "workers", "inbox.w1");
      bind(b, "w2", "jobs.*", "workers", "inbox.w2");
      bind(b, "audit", "jobs.*", null, "inbox.audit");
      for (int i = 0; i < 10; i++) {
        b.publish(msg("jobs.j" + i, "m" + i), PublishOptions.NONE).join();
      }
      List<String> subjects = stored(b, "INBOX").stream().map(Message::subject).toList();
      assertThat(subjects).filteredOn("inbox.audit"::equals).hasSize(10);
      assertThat(subjects).filteredOn("inbox.w1"::equals).hasSize(5);
      assertThat(subjects).filteredOn("inbox.w2"::equals).hasSize(5);
    }
  }

  @Test
  void aCopyOfACopyIsNeverMade() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      bind(b, "all", ">", null, "inbox.all");
      b.publish(msg("a.b", "one"), PublishOptions.NONE).join();
      assertThat(bodies(b, "INBOX")).containsExactly("one");
    }
  }

  @Test
  void aRetriedIdempotentPublishIsCopiedOnce() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "orders.>").build());
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      bind(b, "a", "orders.>", null, "inbox.a");
      PublishOptions once = PublishOptions.messageId("order-1");
      b.publish(msg("orders.1", "x"), once).join();
      PublishAck again = b.publish(msg("orders.1", "x"), once).join();
      assertThat(again.duplicate()).isTrue();
      assertThat(bodies(b, "INBOX")).containsExactly("x");
      assertThat(bodies(b, "ORDERS")).containsExactly("x");
    }
  }
}
