package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.group.CommittedOffset;
import io.switchboard.broker.group.GroupInfo;
import io.switchboard.broker.group.Groups;
import io.switchboard.broker.group.OffsetCommit;
import io.switchboard.broker.group.StreamPartition;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.testkit.ManualClock;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Consumer groups' generations and committed offsets ({@link Broker#groups()}). */
class GroupOffsetsTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  static final StreamPartition T0 = new StreamPartition("T", 0);
  static final StreamPartition T1 = new StreamPartition("T", 1);
  static final StreamPartition T2 = new StreamPartition("T", 2);

  BrokerConfig config() {
    return new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 1024, 600_000);
  }

  Broker open() {
    return open(config());
  }

  Broker open(BrokerConfig config) {
    Broker b = Broker.open(config, clock);
    if (b.listStreams().isEmpty()) {
      b.createStream(StreamConfig.builder("T", "t.>").partitions(3).build());
    }
    return b;
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static Map<StreamPartition, OffsetCommit> offsets(Object... pairs) {
    java.util.HashMap<StreamPartition, OffsetCommit> out = new java.util.HashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put((StreamPartition) pairs[i], OffsetCommit.of(((Number) pairs[i + 1]).longValue()));
    }
    return out;
  }

  static long offsetOf(Groups g, String group, StreamPartition p) {
    CommittedOffset c = g.fetch(group, List.of(p)).get(p);
    return c == null ? -1 : c.offset();
  }

  @Test
  void generationsGrowAndSurviveARestart() {
    try (Broker b = open()) {
      Groups g = b.groups();
      assertThat(g.newGeneration("g", List.of("m1", "m2")).join()).isEqualTo(1);
      assertThat(g.newGeneration("g", List.of("m2")).join()).isEqualTo(2);
      assertThat(g.newGeneration("other", List.of("x")).join()).isEqualTo(1);
      assertThat(g.describe("g")).contains(new GroupInfo("g", 2, Set.of("m2"), 0));
    }
    try (Broker b = open()) {
      Groups g = b.groups();
      assertThat(g.describe("g")).contains(new GroupInfo("g", 2, Set.of("m2"), 0));
      assertThat(g.newGeneration("g", List.of("m3")).join()).isEqualTo(3);
      assertThat(g.list()).extracting(GroupInfo::group).containsExactly("g", "other");
    }
  }

  @Test
  void aCommitNamesTheActiveGenerationAndOneOfItsMembers() {
    try (Broker b = open()) {
      Groups g = b.groups();
      int gen = g.newGeneration("g", List.of("a", "b")).join();
      g.commit("g", gen, "a", offsets(T0, 10, T1, 20)).join();
      assertThat(offsetOf(g, "g", T0)).isEqualTo(10);
      CommittedOffset c = g.fetch("g", List.of(T1)).get(T1);
      assertThat(c.generation()).isEqualTo(gen);
      assertThat(c.commitTimeMs()).isEqualTo(clock.nowMs());

      assertThatThrownBy(() -> g.commit("g", gen - 1 + 5, "a", offsets(T0, 11)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STALE_GENERATION))
          .hasMessageContaining("generation 1, not 5");
      assertThatThrownBy(() -> g.commit("g", gen, "zed", offsets(T0, 11)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.UNKNOWN_GROUP_MEMBER))
          .hasMessageContaining("zed");
      assertThatThrownBy(() -> g.commit("g", Groups.NO_GENERATION, null, offsets(T0, 11)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.GROUP_NOT_EMPTY));
      int next = g.newGeneration("g", List.of("a")).join();
      assertThatThrownBy(() -> g.commit("g", gen, "a", offsets(T0, 11)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STALE_GENERATION));
      g.commit("g", next, "a", offsets(T0, 12)).join();
      assertThat(offsetOf(g, "g", T0)).isEqualTo(12);
      assertThat(offsetOf(g, "g", T1)).isEqualTo(20);
    }
  }

  @Test
  void commitsWithoutAGenerationAreForGroupsWithoutActiveMembers() {
    try (Broker b = open()) {
      Groups g = b.groups();
      // A standalone consumer: never joined.
      g.commit("solo", Groups.NO_GENERATION, null, offsets(T2, 7)).join();
      assertThat(offsetOf(g, "solo", T2)).isEqualTo(7);
      assertThat(g.describe("solo")).contains(new GroupInfo("solo", -1, Set.of(), 1));
      assertThatThrownBy(() -> g.commit("solo", 1, "m", offsets(T2, 8)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STALE_GENERATION));

      // A group whose members all left: an admin tool resets its offsets.
      int gen = g.newGeneration("g", List.of("a")).join();
      g.commit("g", gen, "a", offsets(T0, 5)).join();
      g.newGeneration("g", List.of()).join();
      g.commit("g", Groups.NO_GENERATION, "", offsets(T0, 0)).join();
      assertThat(offsetOf(g, "g", T0)).isZero();
      assertThat(g.fetch("g", List.of(T0)).get(T0).generation()).isEqualTo(Groups.NO_GENERATION);
    }
  }

  @Test
  void aTransactionsOffsetsAreTakenWhateverTheGenerationAndNameNoMember() {
    try (Broker b = open()) {
      Groups g = b.groups();
      g.newGeneration("g", List.of("a")).join();
      // Checked when the transaction's offsets were sent; committed with the transaction.
      g.commit("g", Groups.TRANSACTION, null, offsets(T0, 7)).join();
      assertThat(offsetOf(g, "g", T0)).isEqualTo(7);
      assertThatThrownBy(() -> g.commit("g", Groups.TRANSACTION, "a", offsets(T0, 8)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> g.commit("g", -3, null, offsets(T0, 8)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThat(offsetOf(g, "g", T0)).isEqualTo(7);
    }
  }

  @Test
  void fetchListAndDeleteAndAllOfItSurvivesARestart() {
    try (Broker b = open()) {
      Groups g = b.groups();
      g.commit("a", -1, null, offsets(T0, 1, T1, 2, T2, 3)).join();
      g.commit("b", -1, null, offsets(T0, 100)).join();
      g.commit("c", -1, null, Map.of(T1, new OffsetCommit(9, "note"))).join();
      assertThat(g.fetch("a", null)).containsOnlyKeys(T0, T1, T2);
      assertThat(g.fetch("a", List.of(T1, new StreamPartition("T", 2)))).containsOnlyKeys(T1, T2);
      assertThat(g.fetch("nobody", null)).isEmpty();
      assertThat(g.list())
          .extracting(GroupInfo::group, GroupInfo::offsets)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("a", 3),
              org.assertj.core.groups.Tuple.tuple("b", 1),
              org.assertj.core.groups.Tuple.tuple("c", 1));

      assertThat(g.delete("a", List.of(T1)).join()).isEqualTo(1);
      assertThat(g.delete("b", null).join()).isEqualTo(1);
      assertThatThrownBy(() -> g.delete("b", null).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.GROUP_NOT_FOUND));
      g.newGeneration("c", List.of("m")).join();
      assertThatThrownBy(() -> g.delete("c", null).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.GROUP_NOT_EMPTY));
    }
    try (Broker b = open()) {
      Groups g = b.groups();
      assertThat(g.fetch("a", null)).containsOnlyKeys(T0, T2);
      assertThat(offsetOf(g, "a", T2)).isEqualTo(3);
      assertThat(g.describe("b")).isEmpty();
      assertThat(g.fetch("c", null).get(T1).metadata()).isEqualTo("note");
      assertThat(g.describe("c")).contains(new GroupInfo("c", 1, Set.of("m"), 1));
      // A deleted group starts again.
      g.commit("b", -1, null, offsets(T0, 1)).join();
      assertThat(g.newGeneration("b", List.of("x")).join()).isEqualTo(1);
    }
  }

  @Test
  void badCommitsAreRefusedWithAClearErrorAndChangeNothing() {
    try (Broker b = open(config().withGroupLimits(2, 2))) {
      Groups g = b.groups();
      g.commit("a", -1, null, offsets(T0, 1)).join();
      assertThatThrownBy(
              () -> g.commit("a", -1, null, offsets(new StreamPartition("NOPE", 0), 1)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.STREAM_NOT_FOUND));
      assertThatThrownBy(
              () -> g.commit("a", -1, null, offsets(new StreamPartition("T", 3), 1)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> g.commit("a", -1, null, offsets(T1, -5)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(
              () ->
                  g.commit("a", -1, null, Map.of(T1, new OffsetCommit(1, "x".repeat(5000)))).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.OFFSET_METADATA_TOO_LARGE));
      assertThatThrownBy(() -> g.commit("a", -1, null, offsets(T1, 1, T2, 1)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.TOO_MANY_GROUP_OFFSETS));
      assertThatThrownBy(() -> g.commit("", -1, null, offsets(T1, 1)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> g.commit("a", -1, "m", offsets(T1, 1)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> g.commit("a", -1, null, null).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> g.newGeneration("a", null).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> g.newGeneration("a", List.of("x".repeat(300))).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThat(g.fetch(null, null)).isEmpty();
      g.newGeneration("b", List.of("m")).join();
      assertThatThrownBy(() -> g.newGeneration("c", List.of("m")).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.TOO_MANY_GROUPS));
      assertThatThrownBy(() -> g.commit("c", -1, null, offsets(T0, 1)).join())
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.TOO_MANY_GROUPS));
      assertThat(g.fetch("a", null)).containsOnlyKeys(T0);
      assertThat(g.list()).extracting(GroupInfo::group).containsExactly("a", "b");
    }
  }

  @Test
  void compactionKeepsTheGroupsLogToItsLiveKeys() {
    try (Broker b = open()) {
      Groups g = b.groups();
      for (int i = 0; i < 500; i++) {
        g.commit("g", -1, null, offsets(T0, i, T1, i)).join();
      }
      g.commit("gone", -1, null, offsets(T2, 1)).join();
      g.delete("gone", null).join();
      var log = b.groupCoordinator().log();
      log.roll();
      long before = log.sizeInBytes();
      b.runMaintenance();
      assertThat(log.sizeInBytes()).isLessThan(before / 50);
      int records = 0;
      for (RecordBatch batch : log.read(log.logStartOffset(), 1 << 20).batches()) {
        records += batch.records(1 << 20).size();
      }
      // Two live offsets, and the tombstone of the deleted group's offset, kept for a while.
      assertThat(records).isLessThanOrEqualTo(3);
    }
    try (Broker b = open()) {
      assertThat(offsetOf(b.groups(), "g", T0)).isEqualTo(499);
      assertThat(offsetOf(b.groups(), "g", T1)).isEqualTo(499);
      assertThat(b.groups().describe("gone")).isEmpty();
    }
  }
}
