package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable bindings copy a publish into streams before the publish is acknowledged. */
class BindingsTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  Broker open() {
    return Broker.open(new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 60_000), clock);
  }

  static Message msg(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  /** Every body stored in a stream, in order (the stream keeps one subject per copy target). */
  static List<String> stored(Broker b, String stream) {
    List<String> out = new ArrayList<>();
    var read = b.read(stream, 0, 0, 1 << 20);
    for (var batch : read.batches()) {
      for (var r : batch.records(1 << 20)) {
        out.add(
            new String(StoredMessage.of(stream, 0, r).message().payload(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  @Test
  void aPublishOnASubjectNoStreamCapturesIsStoredInTheBoundStreamBeforeItsAck() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      b.bind("orders.>", null, m -> m.withSubject("inbox.a"));

      PublishAck ack = b.publish(msg("orders.1", "one"), PublishOptions.NONE).join();

      // The original is live only, but the copy is already in the stream when the ack arrives.
      assertThat(ack.stream()).isNull();
      assertThat(stored(b, "INBOX")).containsExactly("one");
      assertThat(b.publish(msg("other.1", "x"), PublishOptions.NONE).join().stream()).isNull();
      assertThat(stored(b, "INBOX")).containsExactly("one");
    }
  }

  @Test
  void membersOfAGroupTakeMessagesInTurnAndOthersGetEveryOne() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      b.bind("jobs.*", "workers", m -> m.withSubject("inbox.w1"));
      b.bind("jobs.*", "workers", m -> m.withSubject("inbox.w2"));
      b.bind("jobs.*", null, m -> m.withSubject("inbox.audit"));
      for (int i = 0; i < 10; i++) {
        b.publish(msg("jobs.j" + i, "m" + i), PublishOptions.NONE).join();
      }
      List<String> subjects = new ArrayList<>();
      var read = b.read("INBOX", 0, 0, 1 << 20);
      for (var batch : read.batches()) {
        for (var r : batch.records(1 << 20)) {
          subjects.add(StoredMessage.of("INBOX", 0, r).message().subject());
        }
      }
      assertThat(subjects).filteredOn("inbox.audit"::equals).hasSize(10);
      assertThat(subjects).filteredOn("inbox.w1"::equals).hasSize(5);
      assertThat(subjects).filteredOn("inbox.w2"::equals).hasSize(5);
    }
  }

  @Test
  void aCopierMaySkipAndAClosedBindingCopiesNothing() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      Binding binding =
          b.bind(
              ">", null, m -> m.subject().startsWith("skip.") ? null : m.withSubject("inbox.all"));
      b.publish(msg("skip.me", "no"), PublishOptions.NONE).join();
      b.publish(msg("keep.me", "yes"), PublishOptions.NONE).join();
      binding.close();
      binding.close();
      b.publish(msg("keep.me", "after"), PublishOptions.NONE).join();
      assertThat(stored(b, "INBOX")).containsExactly("yes");
      assertThat(b.bindingCount()).isZero();
    }
  }

  @Test
  void aCopyOfACopyIsNeverMade() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      b.bind(">", null, m -> m.withSubject("inbox.all"));
      b.publish(msg("a.b", "one"), PublishOptions.NONE).join();
      assertThat(stored(b, "INBOX")).containsExactly("one");
    }
  }

  @Test
  void aCopyNoStreamCapturesFailsThePublishWithACode() {
    try (Broker b = open()) {
      b.bind("orders.>", null, m -> m.withSubject("nowhere.x"));
      assertThatThrownBy(() -> b.publish(msg("orders.1", "x"), PublishOptions.NONE).join())
          .isInstanceOf(CompletionException.class)
          .cause()
          .isInstanceOf(SwitchboardException.class)
          .extracting(e -> ((SwitchboardException) e).code())
          .isEqualTo(ErrorCode.STREAM_MISMATCH);
    }
  }

  @Test
  void aRetriedIdempotentPublishIsCopiedOnce() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("ORDERS", "orders.>").build());
      b.createStream(StreamConfig.builder("INBOX", "inbox.>").build());
      b.bind("orders.>", null, m -> m.withSubject("inbox.a"));
      PublishOptions once = PublishOptions.messageId("order-1");
      b.publish(msg("orders.1", "x"), once).join();
      PublishAck again = b.publish(msg("orders.1", "x"), once).join();
      assertThat(again.duplicate()).isTrue();
      assertThat(stored(b, "INBOX")).containsExactly("x");
      assertThat(stored(b, "ORDERS")).containsExactly("x");
    }
  }

  @Test
  void badPatternsAndGroupNamesAreRefusedWithCodes() {
    try (Broker b = open()) {
      assertThatThrownBy(() -> b.bind("a..b", null, m -> m))
          .isInstanceOf(SwitchboardException.class)
          .extracting(e -> ((SwitchboardException) e).code())
          .isEqualTo(ErrorCode.INVALID_PATTERN);
      assertThatThrownBy(() -> b.bind("a.b", "", m -> m))
          .isInstanceOf(SwitchboardException.class)
          .extracting(e -> ((SwitchboardException) e).code())
          .isEqualTo(ErrorCode.INVALID_ARGUMENT);
    }
  }
}
