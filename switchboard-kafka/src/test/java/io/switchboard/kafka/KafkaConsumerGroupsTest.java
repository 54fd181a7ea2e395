package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.message.ConsumerGroupDescribeResponseData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The consumer group protocol (KIP-848) on a manual clock, driven as kafka-clients' consumer drives
 * it: joins, revocation before a partition moves, epochs, fencing, leaving, static members, the
 * timeouts, the assignors, and the member-epoch checks of offset commits.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KafkaConsumerGroupsTest {
  static final int HEARTBEAT_MS = 1_000;
  static final int SESSION_MS = 10_000;
  static final int REBALANCE_MS = 5_000;

  final AtomicLong now = new AtomicLong(1_000_000);
  final Map<String, Integer> topics = new java.util.HashMap<>(Map.of("t", 4));
  final KafkaConsumerGroups groups =
      new KafkaConsumerGroups(
          now::get,
          new KafkaConsumerGroups.Settings(HEARTBEAT_MS, SESSION_MS),
          t -> topics.getOrDefault(t, 0));
  final KafkaGroups.Client client = new KafkaGroups.Client("c", "/127.0.0.1");

  ConsumerGroupHeartbeatRequestData join(String member, String instance, String assignor) {
    return new ConsumerGroupHeartbeatRequestData()
        .setGroupId("g")
        .setMemberId(member)
        .setMemberEpoch(0)
        .setInstanceId(instance)
        .setRebalanceTimeoutMs(REBALANCE_MS)
        .setSubscribedTopicNames(List.of("t"))
        .setServerAssignor(assignor)
        .setTopicPartitions(List.of());
  }

  ConsumerGroupHeartbeatResponseData send(ConsumerGroupHeartbeatRequestData req) {
    return groups.heartbeat(req, (short) 1, client, false, 100, 100);
  }

  /** A plain heartbeat; {@code owned} null when unchanged since the last. */
  ConsumerGroupHeartbeatResponseData beat(String member, int epoch, Integer... owned) {
    ConsumerGroupHeartbeatRequestData req =
        new ConsumerGroupHeartbeatRequestData()
            .setGroupId("g")
            .setMemberId(member)
            .setMemberEpoch(epoch);
    if (owned.length > 0 && owned[0] != null) {
      req.setTopicPartitions(owned(owned));
    } else if (owned.length > 0) {
      req.setTopicPartitions(List.of());
    }
    return send(req);
  }

  static List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned(Integer... partitions) {
    return List.of(
        new ConsumerGroupHeartbeatRequestData.TopicPartitions()
            .setTopicId(KafkaTopics.topicId("t"))
            .setPartitions(List.of(partitions)));
  }

  static List<Integer> partitions(ConsumerGroupHeartbeatResponseData r) {
    assertThat(r.errorCode()).as("%s", r).isZero();
    assertThat(r.assignment()).as("an assignment in %s", r).isNotNull();
    List<Integer> out = new ArrayList<>();
    r.assignment().topicPartitions().forEach(tp -> out.addAll(tp.partitions()));
    return out;
  }

  @Test
  void aPartitionMovesOnlyAfterItsOwnerGaveItUp() {
    ConsumerGroupHeartbeatResponseData a = send(join("A", null, null));
    assertThat(a.memberEpoch()).isEqualTo(1);
    assertThat(partitions(a)).containsExactly(0, 1, 2, 3);
    assertThat(a.heartbeatIntervalMs()).isEqualTo(HEARTBEAT_MS);

    ConsumerGroupHeartbeatResponseData b = send(join("B", null, null));
    assertThat(b.memberEpoch()).isEqualTo(2);
    assertThat(partitions(b)).as("A still holds them all").isEmpty();

    a = beat("A", 1);
    assertThat(a.memberEpoch()).as("A keeps its epoch until it has revoked").isEqualTo(1);
    assertThat(partitions(a)).containsExactly(0, 1);
    assertThat(partitions(beat("B", 2, (Integer) null))).isEmpty();

    a = beat("A", 1, 0, 1); // revoked 2 and 3
    assertThat(a.memberEpoch()).isEqualTo(2);
    assertThat(partitions(a)).containsExactly(0, 1);
    b = beat("B", 2);
    assertThat(partitions(b)).containsExactly(2, 3);

    ConsumerGroupDescribeResponseData.DescribedGroup d = groups.describe("g");
    assertThat(d.groupState()).isEqualTo("Stable");
    assertThat(d.groupEpoch()).isEqualTo(2);
    assertThat(d.assignorName()).isEqualTo("uniform");
    assertThat(d.members()).hasSize(2);

    // The member epoch guards offsets.
    assertThat(groups.checkOffsets("g", "A", 2, false)).isEqualTo(Errors.NONE);
    assertThat(groups.checkOffsets("g", "A", 1, false))
        .as("the epoch before: the answer that moved it on may still be on its way")
        .isEqualTo(Errors.NONE);
    assertThat(groups.checkOffsets("g", "A", 0, false)).isEqualTo(Errors.STALE_MEMBER_EPOCH);
    assertThat(groups.checkOffsets("g", "A", 3, false)).isEqualTo(Errors.STALE_MEMBER_EPOCH);
    assertThat(groups.checkOffsets("g", "X", 2, false)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    assertThat(groups.checkOffsets("g", "", -1, false))
        .as("a tool's commit while members consume")
        .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    assertThat(groups.checkOffsets("g", "", -1, true)).isEqualTo(Errors.NONE);

    // A lost answer: the previous epoch with what it may own is still accepted; others fenced.
    assertThat(beat("A", 1, 0, 1).errorCode()).isZero();
    assertThat(beat("A", 7).errorCode()).isEqualTo(Errors.FENCED_MEMBER_EPOCH.code());
    assertThat(beat("Z", 2).errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());

    // Leaving: A's partitions go to B at once (nobody holds them).
    assertThat(beat("A", -1).memberEpoch()).isEqualTo(-1);
    b = beat("B", 2);
    assertThat(b.memberEpoch()).isEqualTo(3);
    assertThat(partitions(b)).containsExactly(0, 1, 2, 3);
    assertThat(beat("B", -1).memberEpoch()).isEqualTo(-1);
    assertThat(groups.has("g")).as("an empty group is forgotten").isFalse();
  }

  @Test
  void aFencedMemberRejoinsWithNothingAndTheTopicsGrowthReassigns() {
    partitions(send(join("A", null, null)));
    assertThat(beat("A", 9).errorCode()).isEqualTo(Errors.FENCED_MEMBER_EPOCH.code());
    ConsumerGroupHeartbeatResponseData again = send(join("A", null, null));
    assertThat(partitions(again)).containsExactly(0, 1, 2, 3);
    topics.put("t", 6); // partitions added
    ConsumerGroupHeartbeatResponseData grown = beat("A", again.memberEpoch());
    assertThat(grown.memberEpoch()).isGreaterThan(again.memberEpoch());
    assertThat(partitions(grown)).containsExactly(0, 1, 2, 3, 4, 5);
  }

  @Test
  void membersThatGoSilentOrKeepRevokedPartitionsAreRemoved() {
    partitions(send(join("A", null, null)));
    partitions(send(join("B", null, null)));
    assertThat(partitions(beat("A", 1))).hasSize(2); // must give two up; it never does
    now.addAndGet(REBALANCE_MS + 1);
    beat("B", 2); // B is alive
    groups.tick();
    assertThat(groups.describe("g").members())
        .extracting(ConsumerGroupDescribeResponseData.Member::memberId)
        .containsExactly("B");
    assertThat(partitions(beat("B", 2))).containsExactly(0, 1, 2, 3);
    now.addAndGet(SESSION_MS + 1);
    groups.tick();
    assertThat(groups.has("g")).isFalse();
  }

  @Test
  void aStaticMemberKeepsItsPartitionsAcrossARestart() {
    partitions(send(join("A", "i1", null)));
    partitions(send(join("B", "i2", null)));
    beat("A", 1);
    beat("A", 1, 0, 1);
    List<Integer> bHolds = partitions(beat("B", 2));
    assertThat(bHolds).containsExactly(2, 3);
    // B restarts: it leaves for a moment (-2) and comes back as a new member id.
    assertThat(beat("B", -2).memberEpoch()).isEqualTo(-2);
    assertThat(send(join("C", "i1", null)).errorCode())
        .as("i1 is still A")
        .isEqualTo(Errors.UNRELEASED_INSTANCE_ID.code());
    ConsumerGroupHeartbeatResponseData back = send(join("B2", "i2", null));
    assertThat(back.memberEpoch()).isEqualTo(2);
    assertThat(partitions(back)).isEqualTo(bHolds);
    assertThat(groups.describe("g").members())
        .extracting(ConsumerGroupDescribeResponseData.Member::memberId)
        .containsExactlyInAnyOrder("A", "B2");
    // One that does not come back within its session timeout is removed.
    assertThat(beat("B2", -2).memberEpoch()).isEqualTo(-2);
    now.addAndGet(SESSION_MS + 1);
    beat("A", 2);
    groups.tick();
    assertThat(groups.describe("g").members()).hasSize(1);
  }

  @Test
  void theRangeAssignorAndWhatIsRefused() {
    topics.put("t", 5);
    partitions(send(join("A", null, "range")));
    partitions(send(join("B", null, "range")));
    beat("A", 1);
    beat("A", 1, 0, 1, 2);
    assertThat(partitions(beat("B", 2))).containsExactly(3, 4);
    assertThat(groups.describe("g").assignorName()).isEqualTo("range");

    assertThat(send(join("C", null, "sticky")).errorCode())
        .isEqualTo(Errors.UNSUPPORTED_ASSIGNOR.code());
    assertThat(send(join("C", null, null).setSubscribedTopicRegex("t.*")).errorCode())
        .isEqualTo(Errors.INVALID_REGULAR_EXPRESSION.code());
    assertThat(send(join("C", null, null).setTopicPartitions(null)).errorCode())
        .isEqualTo(Errors.INVALID_REQUEST.code());
    assertThat(send(join("", null, null)).errorCode())
        .as("version 1: the client names itself")
        .isEqualTo(Errors.INVALID_REQUEST.code());
    assertThat(groups.heartbeat(join("", null, null), (short) 0, client, false, 100, 100))
        .satisfies(r -> assertThat(r.memberId()).isNotEmpty());
    assertThat(groups.heartbeat(join("D", null, null), (short) 1, client, true, 100, 100))
        .satisfies(r -> assertThat(r.errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code()));
    assertThat(groups.describe("none").errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
  }
}
