package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The classic group protocol on a manual clock, driven as the Java consumer drives it: the member
 * id handshake (KIP-394), rebalances that wait for every member, the leader's assignment handed out
 * by SyncGroup, heartbeats that say "rejoin", members expired by their session timeout, static
 * members that keep their place and fence their old id, and leaving.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KafkaGroupsTest {
  final AtomicLong now = new AtomicLong(1_000_000);
  final List<String> generations = new ArrayList<>();
  final java.util.concurrent.atomic.AtomicInteger generation =
      new java.util.concurrent.atomic.AtomicInteger();
  final ScheduledExecutorService unused = Executors.newSingleThreadScheduledExecutor();
  final KafkaGroups groups =
      new KafkaGroups(
          unused,
          now::get,
          (g, members) -> {
            int gen = generation.incrementAndGet();
            generations.add(g + "@" + gen + "/" + members.size());
            return CompletableFuture.completedFuture(gen);
          });
  final KafkaGroups.Client client = new KafkaGroups.Client("c", "/127.0.0.1");

  @AfterEach
  void close() {
    groups.close();
    unused.shutdownNow();
  }

  JoinGroupRequestData joinRequest(String memberId, String instanceId, String... protocols) {
    JoinGroupRequestData r =
        new JoinGroupRequestData()
            .setGroupId("g")
            .setMemberId(memberId)
            .setGroupInstanceId(instanceId)
            .setSessionTimeoutMs(10_000)
            .setRebalanceTimeoutMs(30_000)
            .setProtocolType("consumer");
    for (String p : protocols) {
      r.protocols()
          .add(
              new JoinGroupRequestData.JoinGroupRequestProtocol()
                  .setName(p)
                  .setMetadata(p.getBytes()));
    }
    return r;
  }

  /** The two-step join of a v4+ client: returns the member id the coordinator gave. */
  String memberId() {
    JoinGroupResponseData r = groups.join(joinRequest("", null, "range"), (short) 9, client).join();
    assertThat(r.errorCode()).isEqualTo(Errors.MEMBER_ID_REQUIRED.code());
    assertThat(r.memberId()).startsWith("c-");
    return r.memberId();
  }

  SyncGroupResponseData sync(String member, int generation, String... assignmentsFor) {
    SyncGroupRequestData r =
        new SyncGroupRequestData()
            .setGroupId("g")
            .setMemberId(member)
            .setGenerationId(generation)
            .setProtocolType("consumer")
            .setProtocolName("range");
    for (String m : assignmentsFor) {
      r.assignments()
          .add(
              new SyncGroupRequestData.SyncGroupRequestAssignment()
                  .setMemberId(m)
                  .setAssignment(("for " + m).getBytes()));
    }
    return groups.sync(r).join();
  }

  short heartbeat(String member, int generation) {
    return groups
        .heartbeat(
            new HeartbeatRequestData()
                .setGroupId("g")
                .setMemberId(member)
                .setGenerationId(generation))
        .join()
        .errorCode();
  }

  @Test
  void oneMemberJoinsSyncsAndHeartbeats() {
    String a = memberId();
    JoinGroupResponseData joined =
        groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    assertThat(joined.errorCode()).isZero();
    assertThat(joined.generationId()).isEqualTo(1);
    assertThat(joined.leader()).isEqualTo(a);
    assertThat(joined.protocolName()).isEqualTo("range");
    assertThat(joined.members())
        .extracting(JoinGroupResponseData.JoinGroupResponseMember::memberId)
        .containsExactly(a);
    SyncGroupResponseData s = sync(a, 1, a);
    assertThat(s.errorCode()).isZero();
    assertThat(new String(s.assignment())).isEqualTo("for " + a);
    assertThat(heartbeat(a, 1)).isZero();
    assertThat(heartbeat(a, 0)).isEqualTo(Errors.ILLEGAL_GENERATION.code());
    assertThat(heartbeat("nobody", 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
    assertThat(groups.describe("g").groupState()).isEqualTo("Stable");
    assertThat(generations).containsExactly("g@1/1");
  }

  @Test
  void aSecondMemberMakesEveryoneRejoinAndTheLeaderAssignsForBoth() {
    String a = memberId();
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    sync(a, 1, a);

    String b = memberId();
    CompletableFuture<JoinGroupResponseData> bJoin =
        groups.join(joinRequest(b, null, "range"), (short) 9, client);
    assertThat(bJoin).as("waits for the known member to rejoin").isNotDone();
    assertThat(heartbeat(a, 1)).isEqualTo(Errors.REBALANCE_IN_PROGRESS.code());
    CompletableFuture<JoinGroupResponseData> aJoin =
        groups.join(joinRequest(a, null, "range"), (short) 9, client);
    assertThat(aJoin).isDone();
    assertThat(bJoin).isDone();
    assertThat(aJoin.join().generationId()).isEqualTo(2);
    assertThat(aJoin.join().members()).hasSize(2); // a leads: it was first
    assertThat(bJoin.join().members()).isEmpty();

    SyncGroupRequestData bSync =
        new SyncGroupRequestData().setGroupId("g").setMemberId(b).setGenerationId(2);
    CompletableFuture<SyncGroupResponseData> bAssigned = groups.sync(bSync);
    assertThat(bAssigned).as("a follower waits for the leader's assignment").isNotDone();
    sync(a, 2, a, b);
    assertThat(new String(bAssigned.join().assignment())).isEqualTo("for " + b);
  }

  @Test
  void aMemberThatStopsHeartbeatingIsRemovedAndTheRestRebalance() {
    String a = memberId();
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    String b = memberId();
    CompletableFuture<JoinGroupResponseData> bJoin =
        groups.join(joinRequest(b, null, "range"), (short) 9, client);
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    bJoin.join();
    sync(a, 2, a, b);
    sync(b, 2);

    now.addAndGet(5_000);
    assertThat(heartbeat(a, 2)).isZero();
    now.addAndGet(6_000); // b silent for 11 s, past its 10 s session
    groups.tick();
    assertThat(heartbeat(b, 2)).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
    assertThat(heartbeat(a, 2)).isEqualTo(Errors.REBALANCE_IN_PROGRESS.code());
    JoinGroupResponseData again =
        groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    assertThat(again.generationId()).isEqualTo(3);
    assertThat(again.members()).hasSize(1);
  }

  @Test
  void aRebalanceEndsAtItsDeadlineWithoutMembersThatDidNotRejoin() {
    String a = memberId();
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    sync(a, 1, a);
    String b = memberId();
    CompletableFuture<JoinGroupResponseData> bJoin =
        groups.join(joinRequest(b, null, "range"), (short) 9, client);
    // a keeps heartbeating but never rejoins.
    now.addAndGet(9_000);
    heartbeat(a, 1);
    groups.tick();
    assertThat(bJoin).isNotDone();
    now.addAndGet(22_000); // past the 30 s rebalance timeout
    heartbeat(a, 1);
    groups.tick();
    assertThat(bJoin.join().generationId()).isEqualTo(2);
    assertThat(bJoin.join().leader()).isEqualTo(b);
    assertThat(bJoin.join().members()).hasSize(1);
  }

  @Test
  void aStaticMemberRejoiningUnderANewIdFencesItsOldOne() {
    JoinGroupResponseData first =
        groups.join(joinRequest("", "instance-1", "range"), (short) 9, client).join();
    assertThat(first.errorCode()).isZero();
    String old = first.memberId();
    sync(old, 1, old);
    JoinGroupResponseData second =
        groups.join(joinRequest("", "instance-1", "range"), (short) 9, client).join();
    assertThat(second.memberId()).isNotEqualTo(old);
    assertThat(
            groups
                .heartbeat(
                    new HeartbeatRequestData()
                        .setGroupId("g")
                        .setMemberId(old)
                        .setGroupInstanceId("instance-1")
                        .setGenerationId(second.generationId()))
                .join()
                .errorCode())
        .isIn(Errors.UNKNOWN_MEMBER_ID.code(), Errors.FENCED_INSTANCE_ID.code());
  }

  @Test
  void membersThatShareNoProtocolAreRefused() {
    String a = memberId();
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    JoinGroupResponseData r =
        groups.join(joinRequest("", null, "roundrobin"), (short) 3, client).join();
    assertThat(r.errorCode()).isEqualTo(Errors.INCONSISTENT_GROUP_PROTOCOL.code());
    JoinGroupResponseData tooShort =
        groups
            .join(joinRequest("", null, "range").setSessionTimeoutMs(10), (short) 9, client)
            .join();
    assertThat(tooShort.errorCode()).isEqualTo(Errors.INVALID_SESSION_TIMEOUT.code());
  }

  @Test
  void leavingEmptiesTheGroupOrMakesTheRestRebalance() {
    String a = memberId();
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    sync(a, 1, a);
    var left =
        groups
            .leave(
                new LeaveGroupRequestData()
                    .setGroupId("g")
                    .setMembers(List.of(new LeaveGroupRequestData.MemberIdentity().setMemberId(a))),
                (short) 5)
            .join();
    assertThat(left.members().get(0).errorCode()).isZero();
    assertThat(groups.describe("g").groupState()).isEqualTo("Empty");
    assertThat(groups.checkCommit("g", -1, "", null)).isEqualTo(Errors.NONE);
    groups.tick();
    assertThat(groups.describe("g").groupState()).isEqualTo("Dead");
    var unknown =
        groups.leave(new LeaveGroupRequestData().setGroupId("g").setMemberId(a), (short) 1).join();
    assertThat(unknown.errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
  }

  @Test
  void commitsAreCheckedAgainstTheLiveGeneration() {
    String a = memberId();
    groups.join(joinRequest(a, null, "range"), (short) 9, client).join();
    sync(a, 1, a);
    assertThat(groups.checkCommit("g", 1, a, null)).isEqualTo(Errors.NONE);
    assertThat(groups.checkCommit("g", 0, a, null)).isEqualTo(Errors.ILLEGAL_GENERATION);
    assertThat(groups.checkCommit("g", 1, "other", null)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    assertThat(groups.checkCommit("g", -1, "", null)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
  }
}
