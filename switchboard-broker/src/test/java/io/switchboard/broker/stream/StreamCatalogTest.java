package io.switchboard.broker.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.io.NioStorageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamCatalogTest {
  @TempDir Path dir;

  StreamCatalog open() {
    return StreamCatalog.open(dir, NioStorageIO.INSTANCE);
  }

  static void failsWith(ErrorCode code, Runnable r, String... fragments) {
    assertThatThrownBy(r::run)
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(code);
              for (String f : fragments) {
                assertThat(e.getMessage()).contains(f);
              }
            });
  }

  @Test
  void shouldCreateListAndFindStreamsByCapturedSubject() {
    StreamCatalog c = open();
    c.create(StreamConfig.builder("ORDERS", "orders.>").partitions(4).build());
    c.create(StreamConfig.builder("PAYMENTS", "payments.*.done", "refunds.>").build());
    assertThat(c.list()).extracting(StreamConfig::name).containsExactly("ORDERS", "PAYMENTS");
    assertThat(c.streamFor("orders.eu.created")).contains("ORDERS");
    assertThat(c.streamFor("payments.card.done")).contains("PAYMENTS");
    assertThat(c.streamFor("refunds.x.y")).contains("PAYMENTS");
    assertThat(c.streamFor("payments.card.failed")).isEmpty();
    assertThat(c.get("ORDERS").orElseThrow().partitions()).isEqualTo(4);
  }

  @Test
  void shouldRejectOverlappingCapturesNamingBothStreams() {
    StreamCatalog c = open();
    c.create(StreamConfig.builder("ORDERS", "orders.*.created").build());
    failsWith(
        ErrorCode.STREAM_SUBJECTS_OVERLAP,
        () -> c.create(StreamConfig.builder("EU", "orders.eu.>").build()),
        "\"EU\"",
        "orders.eu.>",
        "\"ORDERS\"",
        "orders.*.created");
    // Disjoint patterns are fine, and a rejected stream left no trace.
    c.create(StreamConfig.builder("SHIPPED", "orders.*.shipped").build());
    assertThat(c.list()).hasSize(2);
    failsWith(ErrorCode.STREAM_EXISTS, () -> c.create(StreamConfig.builder("ORDERS", "x").build()));
  }

  @Test
  void aStreamListsAtMostTheConfiguredNumberOfSubjects() {
    StreamCatalog c = StreamCatalog.open(dir, NioStorageIO.INSTANCE, 3);
    c.create(StreamConfig.builder("THREE", "a", "b", "c").build());
    failsWith(
        ErrorCode.TOO_MANY_STREAM_SUBJECTS,
        () -> c.create(StreamConfig.builder("FOUR", "d", "e", "f", "g").build()),
        "\"FOUR\" lists 4 subjects; the limit is 3");
    failsWith(
        ErrorCode.TOO_MANY_STREAM_SUBJECTS,
        () -> c.update(StreamConfig.builder("THREE", "a", "b", "c", "d").build()),
        "\"THREE\" lists 4");
    assertThat(c.list()).extracting(StreamConfig::name).containsExactly("THREE");
  }

  /**
   * Issue 12 §3: two streams of 20,000 subjects each made the pairwise overlap check take seconds
   * under the admin lock. The trie lookup finds the one overlapping pattern among them, and
   * updating a stream does not count its own patterns as an overlap.
   */
  @Test
  void overlapsAreFoundAmongManySubjectsAndAStreamNeverOverlapsItself() {
    StreamCatalog c = StreamCatalog.open(dir, NioStorageIO.INSTANCE, 20_000);
    String[] first = new String[20_000];
    String[] second = new String[20_000];
    for (int i = 0; i < first.length; i++) {
      first[i] = "dev." + i + ".temp";
      second[i] = "dev." + i + ".humidity";
    }
    c.create(StreamConfig.builder("TEMP", first).build());
    c.create(StreamConfig.builder("HUMIDITY", second).build());
    c.update(StreamConfig.builder("TEMP", first).partitions(2).build());
    second[19_999] = "dev.*.temp";
    failsWith(
        ErrorCode.STREAM_SUBJECTS_OVERLAP,
        () -> c.update(StreamConfig.builder("HUMIDITY", second).build()),
        "\"HUMIDITY\"",
        "dev.*.temp",
        "\"TEMP\"",
        "dev.0.temp");
  }

  @Test
  void updatesMayGrowPartitionsButNotShrinkThemOrChangeRetention() {
    StreamCatalog c = open();
    c.create(
        StreamConfig.builder("Q", "jobs.>").partitions(2).retention(Retention.WORK_QUEUE).build());
    StreamConfig grown =
        c.update(
            StreamConfig.builder("Q", "jobs.>", "tasks.>")
                .partitions(3)
                .retention(Retention.WORK_QUEUE)
                .build());
    assertThat(grown.partitions()).isEqualTo(3);
    assertThat(c.streamFor("tasks.a")).contains("Q");
    failsWith(
        ErrorCode.STREAM_UPDATE_NOT_ALLOWED,
        () ->
            c.update(
                StreamConfig.builder("Q", "jobs.>")
                    .partitions(1)
                    .retention(Retention.WORK_QUEUE)
                    .build()),
        "shrink");
    failsWith(
        ErrorCode.STREAM_UPDATE_NOT_ALLOWED,
        () -> c.update(StreamConfig.builder("Q", "jobs.>").partitions(3).build()),
        "retention");
    failsWith(
        ErrorCode.STREAM_NOT_FOUND, () -> c.update(StreamConfig.builder("NOPE", "n").build()));
  }

  @Test
  void deletingFreesTheSubjects() {
    StreamCatalog c = open();
    c.create(StreamConfig.builder("A", "a.>").build());
    c.delete("A");
    assertThat(c.streamFor("a.b")).isEmpty();
    c.create(StreamConfig.builder("B", "a.b").build());
    failsWith(ErrorCode.STREAM_NOT_FOUND, () -> c.delete("A"));
  }

  @Test
  void theCatalogSurvivesARestart() {
    StreamCatalog c = open();
    StreamConfig orders =
        StreamConfig.builder("ORDERS", "orders.>")
            .partitions(8)
            .retention(Retention.WORK_QUEUE)
            .maxAgeMs(86_400_000)
            .maxMessagesPerSubject(5)
            .discard(Discard.REJECT_NEW)
            .fsync(FsyncPolicy.ALWAYS)
            .duplicateWindowMs(0)
            .build();
    c.create(orders);
    c.create(StreamConfig.builder("LOGS", "logs.>").build());
    c.delete("LOGS");
    StreamCatalog reopened = open();
    assertThat(reopened.list()).containsExactly(orders);
    assertThat(reopened.streamFor("orders.1")).contains("ORDERS");
  }

  @Test
  void aCatalogFileThatDoesNotParseStopsTheBrokerWithItsName() throws Exception {
    Files.writeString(dir.resolve(StreamCatalog.FILE), "{\"version\":1,\"streams\":[{\"name\":");
    failsWith(ErrorCode.INVALID_CONFIG, this::open, StreamCatalog.FILE, "does not parse");
  }

  @Test
  void aBadConfigReportsEveryProblemAtOnce() {
    failsWith(
        ErrorCode.INVALID_CONFIG,
        () ->
            StreamConfig.builder("bad name!", "a.>.b", "ok")
                .partitions(0)
                .maxBytes(0)
                .maxMessageBytes(-5)
                .duplicateWindowMs(-1)
                .build(),
        "name must be",
        "'>' at position 2 must be the last token",
        "partitions=0",
        "maxBytes=0",
        "maxMessageBytes=-5",
        "duplicateWindowMs=-1");
  }
}
