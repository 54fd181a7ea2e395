package io.switchboard.broker.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DelayStoreTest {
  static final long SECOND = 1_000;
  static final long MINUTE = 60 * SECOND;
  static final long HOUR = 60 * MINUTE;
  static final long DAY = 24 * HOUR;

  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  /** What the store released: message and id, in order. */
  record Released(Message message, String id) {
    String body() {
      return new String(message.payload(), StandardCharsets.UTF_8);
    }
  }

  final List<Released> released = new ArrayList<>();
  Function<Released, CompletableFuture<PublishAck>> outcome =
      r ->
          CompletableFuture.completedFuture(
              new PublishAck("S", 0, released.size(), Durability.WRITTEN, false));

  DelayStore open(FsyncPolicy fsync) {
    return DelayStore.open(
        "S",
        dir.resolve("delayed"),
        fsync,
        1 << 20,
        2 << 20,
        clock,
        (m, id) -> {
          Released r = new Released(m, id);
          CompletableFuture<PublishAck> f = outcome.apply(r);
          if (!f.isCompletedExceptionally()) {
            released.add(r);
          }
          return f;
        });
  }

  static Message delayed(String body, long delayMs) {
    return new Message(
        "orders.created",
        null,
        List.of(
            new Header("trace", "t1".getBytes(StandardCharsets.UTF_8)),
            new Header(
                DelayStore.DELAY_HEADER,
                Long.toString(delayMs).getBytes(StandardCharsets.US_ASCII))),
        body.getBytes(StandardCharsets.UTF_8),
        0,
        "reply.here");
  }

  void add(DelayStore store, String body, long delayMs) {
    Message m = delayed(body, delayMs);
    long due = DelayStore.dueTime(m, clock.nowMs());
    PublishAck ack = store.add(m, null, due, 0).join();
    assertThat(ack.delayed()).isTrue();
    assertThat(ack.deliverAtMs()).isEqualTo(clock.nowMs() + delayMs);
    assertThat(ack.offset()).isEqualTo(-1);
  }

  /** Advances the clock to {@code atMs}, one tick per simulated second, as the broker would. */
  void runUntil(DelayStore store, long atMs) {
    while (clock.nowMs() < atMs) {
      clock.ms.set(Math.min(atMs, clock.nowMs() + SECOND));
      store.tick();
    }
  }

  List<String> bodies() {
    return released.stream().map(Released::body).toList();
  }

  @Test
  void shouldReleaseEachMessageOnlyOnceItIsDueAcrossEveryLevel() {
    clock.ms.set(10 * DAY + 123);
    long start = clock.nowMs();
    try (DelayStore store = open(FsyncPolicy.NEVER)) {
      add(store, "3d", 3 * DAY);
      add(store, "2h", 2 * HOUR);
      add(store, "90s", 90 * SECOND);
      add(store, "2s", 2 * SECOND);
      add(store, "500ms", 500);
      assertThat(store.pending()).isEqualTo(5);
      store.tick();
      assertThat(released).isEmpty();

      runUntil(store, start + 500);
      assertThat(bodies()).containsExactly("500ms");
      runUntil(store, start + 2 * SECOND - 1);
      assertThat(bodies()).containsExactly("500ms");
      runUntil(store, start + 2 * SECOND);
      assertThat(bodies()).containsExactly("500ms", "2s");
      runUntil(store, start + 90 * SECOND - 1);
      assertThat(bodies()).hasSize(2);
      runUntil(store, start + 90 * SECOND);
      assertThat(bodies()).containsExactly("500ms", "2s", "90s");
      runUntil(store, start + 2 * HOUR);
      assertThat(bodies()).containsExactly("500ms", "2s", "90s", "2h");
      runUntil(store, start + 3 * DAY - 1);
      assertThat(bodies()).hasSize(4);
      runUntil(store, start + 3 * DAY);
      assertThat(bodies()).containsExactly("500ms", "2s", "90s", "2h", "3d");
      assertThat(store.pending()).isZero();
      assertThat(store.bucketCount()).isZero();
      assertThat(store.released()).isEqualTo(5);
    }
  }

  @Test
  void shouldReleaseTheMessageAsPublishedWithItsAbsoluteTime() {
    clock.ms.set(1_000_000);
    try (DelayStore store = open(FsyncPolicy.ALWAYS)) {
      add(store, "x", 1500);
      runUntil(store, 1_001_500);
      Message m = released.get(0).message();
      assertThat(m.subject()).isEqualTo("orders.created");
      assertThat(m.replyTo()).isEqualTo("reply.here");
      assertThat(m.timestampMs()).as("stamped when it enters the stream").isZero();
      assertThat(m.header("trace")).asString(StandardCharsets.UTF_8).isEqualTo("t1");
      assertThat(m.header(DelayStore.DELAY_HEADER)).isNull();
      assertThat(m.header(DelayStore.DELIVER_AT_HEADER))
          .asString(StandardCharsets.US_ASCII)
          .isEqualTo("1001500");
      assertThat(m.header(PartitionAgent.MESSAGE_ID_HEADER)).isNull();
      assertThat(released.get(0).id()).startsWith("sb-delayed-");
      // Released again, it would not be delayed again.
      assertThat(DelayStore.dueTime(m, clock.nowMs())).isEqualTo(-1);
    }
  }

  @Test
  void shouldKeepPendingMessagesAcrossAReopen() {
    clock.ms.set(5 * DAY);
    long start = clock.nowMs();
    try (DelayStore store = open(FsyncPolicy.INTERVAL)) {
      for (int i = 0; i < 100; i++) {
        add(store, "m" + i, (i % 4 + 1) * HOUR);
      }
    }
    try (DelayStore store = open(FsyncPolicy.INTERVAL)) {
      assertThat(store.pending()).isEqualTo(100);
      runUntil(store, start + 2 * HOUR);
      assertThat(released).hasSize(50);
    }
    try (DelayStore store = open(FsyncPolicy.INTERVAL)) {
      assertThat(store.pending()).isEqualTo(50);
      runUntil(store, start + 4 * HOUR);
      assertThat(released).hasSize(100);
      assertThat(bodies()).doesNotHaveDuplicates();
    }
  }

  @Test
  void aCascadeRepeatedAfterACrashReleasesWithTheSameIdsForDeDuplication() throws Exception {
    clock.ms.set(3 * DAY);
    long start = clock.nowMs();
    Path copy = dir.resolve("copy");
    try (DelayStore store = open(FsyncPolicy.ALWAYS)) {
      add(store, "a", 10 * MINUTE);
      add(store, "b", 10 * MINUTE + 5 * SECOND);
      Path bucket;
      try (Stream<Path> children = Files.list(dir.resolve("delayed"))) {
        bucket = children.findFirst().orElseThrow();
      }
      assertThat(bucket.getFileName().toString()).startsWith("L1-");
      copyTree(bucket, copy.resolve(bucket.getFileName()));
    }
    // Simulate a crash after the cascade wrote its copies but before it deleted the source:
    // run the cascade, close, then put the source back.
    try (DelayStore store = open(FsyncPolicy.ALWAYS)) {
      runUntil(store, start + 10 * MINUTE - SECOND);
      assertThat(released).isEmpty();
    }
    try (Stream<Path> saved = Files.list(copy)) {
      for (Path p : saved.toList()) {
        copyTree(p, dir.resolve("delayed").resolve(p.getFileName()));
      }
    }
    try (DelayStore store = open(FsyncPolicy.ALWAYS)) {
      runUntil(store, start + 11 * MINUTE);
    }
    assertThat(bodies()).containsExactlyInAnyOrder("a", "a", "b", "b");
    assertThat(released.stream().map(Released::id).distinct()).hasSize(2);
  }

  @Test
  void aRetriableRefusalIsRetriedAndAPermanentOneDropped() {
    clock.ms.set(DAY);
    long start = clock.nowMs();
    try (DelayStore store = open(FsyncPolicy.NEVER)) {
      add(store, "gone", SECOND);
      add(store, "busy", SECOND);
      int[] calls = {0};
      outcome =
          r -> {
            if (r.body().equals("gone")) {
              return CompletableFuture.failedFuture(
                  SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, "S"));
            }
            if (++calls[0] == 1) {
              return CompletableFuture.failedFuture(
                  SwitchboardException.of(ErrorCode.PUBLISH_BACKPRESSURE, "S", 0, 1));
            }
            return CompletableFuture.completedFuture(
                new PublishAck("S", 0, 0, Durability.WRITTEN, false));
          };
      runUntil(store, start + SECOND);
      assertThat(released).isEmpty();
      assertThat(store.dropped()).isEqualTo(1);
      assertThat(store.pending()).as("busy waits from its own offset").isEqualTo(1);
      store.tick();
      assertThat(bodies()).containsExactly("busy");
      assertThat(store.dropped()).isEqualTo(1);
      assertThat(store.pending()).isZero();
    }
  }

  @Test
  void badDelayHeadersAreCodedErrors() {
    long now = 1_000;
    for (Message m :
        List.of(
            Message.of("a.b", new byte[0], 0).withHeader(DelayStore.DELAY_HEADER, bytes("soon")),
            Message.of("a.b", new byte[0], 0).withHeader(DelayStore.DELAY_HEADER, bytes("-5")),
            Message.of("a.b", new byte[0], 0)
                .withHeader(DelayStore.DELAY_HEADER, bytes("5"))
                .withHeader(DelayStore.DELIVER_AT_HEADER, bytes("5000")),
            Message.of("a.b", new byte[0], 0)
                .withHeader(
                    DelayStore.DELAY_HEADER, bytes(Long.toString(DelayStore.MAX_DELAY_MS + 1))))) {
      assertThatThrownBy(() -> DelayStore.dueTime(m, now))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.INVALID_DELAY);
                assertThat(e.getMessage()).contains("a.b");
              });
    }
    Message past =
        Message.of("a.b", new byte[0], 0).withHeader(DelayStore.DELIVER_AT_HEADER, bytes("999"));
    assertThat(DelayStore.dueTime(past, now)).isEqualTo(-1);
    Message none = Message.of("a.b", new byte[0], 0);
    assertThat(DelayStore.dueTime(none, now)).isEqualTo(-1);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static void copyTree(Path from, Path to) throws Exception {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }
}
