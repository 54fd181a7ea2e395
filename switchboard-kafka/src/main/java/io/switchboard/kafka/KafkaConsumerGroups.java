package io.switchboard.kafka;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupDescribeResponseData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * The consumer group protocol of KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe), as
 * Kafka's group coordinator runs it: the coordinator, not a client, assigns partitions. Each change
 * of a group's members, their subscriptions or their topics' partitions bumps the <em>group
 * epoch</em> and makes a new target assignment (assignor {@code uniform}, sticky and balanced, or
 * {@code range}). Each member then moves towards its target on its own heartbeats: first it gives
 * up what its target no longer holds (its epoch stays), then it gets what its target adds, but only
 * partitions no other member still holds, and takes the new epoch. A partition is never owned by
 * two members at once.
 *
 * <p>A member heartbeats every {@link Settings#heartbeatIntervalMs}; one silent for {@link
 * Settings#sessionTimeoutMs}, or that keeps a revoked partition past its rebalance timeout, is
 * removed. Epoch -1 leaves; a static member ({@code group.instance.id}) leaving with -2 keeps its
 * partitions for its session timeout, and its next incarnation takes them over under a new member
 * id. Membership lives in memory, as in Kafka (after a restart members join again); committed
 * offsets live in the broker's group store, shared with classic groups.
 *
 * <p>Thread safety: every method runs on the classic coordinator's executor ({@link KafkaGroups}),
 * which owns this and checks group ids across both protocols.
 */
final class KafkaConsumerGroups {
  /** The assignors served; the first is the default (Kafka's order). */
  static final List<String> ASSIGNORS = List.of("uniform", "range");

  /** Leave epochs of a heartbeat. */
  static final int LEAVE = -1;

  static final int STATIC_LEAVE = -2;

  /** How members heartbeat and when they are given up. */
  record Settings(int heartbeatIntervalMs, int sessionTimeoutMs) {}

  enum MemberState {
    /** Owns what its epoch's target gives it. */
    STABLE,
    /** Must give up {@link Member#revoking} before it moves on. */
    UNREVOKED,
    /** Waits for partitions of its target that other members still hold. */
    UNRELEASED
  }

  static final class Member {
    final String id;
    String instanceId;
    String rackId;
    KafkaGroups.Client client;
    int epoch;
    int previousEpoch = -1;
    int rebalanceTimeoutMs;
    List<String> subscribed = List.of();
    String assignor;
    MemberState state = MemberState.STABLE;

    /** What the member may own now, and what it must give up: topic → partitions. */
    Map<String, TreeSet<Integer>> assigned = new TreeMap<>();

    Map<String, TreeSet<Integer>> revoking = new TreeMap<>();
    long lastHeartbeatMs;
    long revokeDeadlineMs;

    /** Left with epoch -2: keeps its partitions until its session times out. */
    boolean away;

    Member(String id) {
      this.id = id;
    }
  }

  static final class Group {
    final String id;
    int groupEpoch;
    int assignmentEpoch;
    final LinkedHashMap<String, Member> members = new LinkedHashMap<>();
    final Map<String, String> staticMembers = new HashMap<>();

    /** The target assignment of {@link #assignmentEpoch}: member → topic → partitions. */
    Map<String, Map<String, TreeSet<Integer>>> target = new HashMap<>();

    /** Partitions per subscribed topic when the target was made. */
    Map<String, Integer> partitionCounts = new HashMap<>();

    Group(String id) {
      this.id = id;
    }

    String assignor() {
      for (Member m : members.values()) {
        if (m.assignor != null) {
          return m.assignor;
        }
      }
      return ASSIGNORS.get(0);
    }

    String state() {
      if (members.isEmpty()) {
        return "Empty";
      }
      if (groupEpoch > assignmentEpoch) {
        return "Assigning";
      }
      for (Member m : members.values()) {
        if (m.epoch != assignmentEpoch || m.state != MemberState.STABLE) {
          return "Reconciling";
        }
      }
      return "Stable";
    }
  }

  private final LongSupplier clock;
  private final Settings settings;
  private final ToIntFunction<String> partitionsOf;
  private final Map<String, Group> groups = new HashMap<>();

  /**
   * @param partitionsOf a topic's partitions now, 0 when it does not exist (never blocks)
   */
  KafkaConsumerGroups(LongSupplier clock, Settings settings, ToIntFunction<String> partitionsOf) {
    this.clock = clock;
    this.settings = settings;
    this.partitionsOf = partitionsOf;
  }

  boolean has(String groupId) {
    return groups.containsKey(groupId);
  }

  boolean hasMembers(String groupId) {
    Group g = groups.get(groupId);
    return g != null && !g.members.isEmpty();
  }

  int size() {
    return groups.size();
  }

  // ------------------------------------------------------------------ heartbeat

  /**
   * One ConsumerGroupHeartbeat. {@code classicMembers} tells whether the id is a classic group with
   * members (then this is not a consumer group: GROUP_ID_NOT_FOUND, as Kafka answers).
   */
  ConsumerGroupHeartbeatResponseData heartbeat(
      ConsumerGroupHeartbeatRequestData req,
      short version,
      KafkaGroups.Client client,
      boolean classicMembers,
      int maxGroups,
      int maxMembers) {
    ConsumerGroupHeartbeatResponseData out =
        new ConsumerGroupHeartbeatResponseData()
            .setMemberId(req.memberId())
            .setMemberEpoch(req.memberEpoch())
            .setHeartbeatIntervalMs(settings.heartbeatIntervalMs());
    String groupId = req.groupId();
    if (groupId == null || groupId.isEmpty()) {
      return error(out, Errors.INVALID_REQUEST, "a group id is required");
    }
    if (classicMembers) {
      return error(
          out,
          Errors.GROUP_ID_NOT_FOUND,
          "group " + groupId + " is a classic group with members, not a consumer group");
    }
    int epoch = req.memberEpoch();
    String memberId = req.memberId() == null ? "" : req.memberId();
    if (version >= 1 && memberId.isEmpty()) {
      return error(out, Errors.INVALID_REQUEST, "a member id is required (KIP-1082)");
    }
    if (req.subscribedTopicRegex() != null && !req.subscribedTopicRegex().isEmpty()) {
      return error(
          out,
          Errors.INVALID_REGULAR_EXPRESSION,
          "subscriptions by regular expression are not served; subscribe by topic names");
    }
    if (req.serverAssignor() != null && !ASSIGNORS.contains(req.serverAssignor())) {
      return error(
          out,
          Errors.UNSUPPORTED_ASSIGNOR,
          "assignor " + req.serverAssignor() + " is not one of " + ASSIGNORS);
    }
    long now = clock.getAsLong();
    Group g = groups.get(groupId);
    if (epoch == LEAVE || epoch == STATIC_LEAVE) {
      Member m = g == null ? null : g.members.get(memberId);
      if (m == null) {
        return error(out, Errors.UNKNOWN_MEMBER_ID, "member " + memberId + " is not in " + groupId);
      }
      if (epoch == STATIC_LEAVE && m.instanceId != null) {
        m.away = true; // its partitions wait for its next incarnation, up to its session timeout
        m.lastHeartbeatMs = now;
      } else {
        remove(g, m);
      }
      return out.setMemberEpoch(epoch);
    }
    if (epoch == 0) {
      if (req.subscribedTopicNames() == null
          || req.rebalanceTimeoutMs() < 0
          || req.topicPartitions() == null) {
        return error(
            out,
            Errors.INVALID_REQUEST,
            "a join (epoch 0) names its subscription, rebalance timeout and owned partitions");
      }
      if (g == null) {
        if (groups.size() >= maxGroups) {
          return error(out, Errors.GROUP_MAX_SIZE_REACHED, "the server holds " + maxGroups);
        }
        g = new Group(groupId);
        groups.put(groupId, g);
      }
    } else if (g == null || !g.members.containsKey(memberId)) {
      return error(out, Errors.UNKNOWN_MEMBER_ID, "member " + memberId + " is not in " + groupId);
    }
    Member m = g.members.get(memberId);
    boolean bump = false; // the group epoch moves on once per heartbeat, whatever changed
    if (epoch == 0) {
      if (memberId.isEmpty()) {
        memberId = UUID.randomUUID().toString(); // version 0: the coordinator names it
        out.setMemberId(memberId);
      }
      String instance = req.instanceId();
      Member previous = null;
      if (instance != null) {
        String held = g.staticMembers.get(instance);
        previous = held == null || held.equals(memberId) ? null : g.members.get(held);
        if (previous != null && !previous.away) {
          return error(
              out,
              Errors.UNRELEASED_INSTANCE_ID,
              "instance " + instance + " is still member " + previous.id + " of " + groupId);
        }
      }
      if (m == null) {
        if (g.members.size() >= maxMembers) {
          return error(out, Errors.GROUP_MAX_SIZE_REACHED, groupId + " has " + maxMembers);
        }
        m = new Member(memberId);
        if (previous != null) {
          // The static member's next incarnation: its place, partitions and epoch, under a new id.
          g.members.remove(previous.id);
          m.epoch = previous.epoch;
          m.previousEpoch = previous.previousEpoch;
          m.assigned = previous.assigned;
          m.revoking = previous.revoking;
          m.state = previous.state;
          m.subscribed = previous.subscribed;
          Map<String, TreeSet<Integer>> t = g.target.remove(previous.id);
          if (t != null) {
            g.target.put(m.id, t);
          }
        } else {
          bump = true;
        }
        g.members.put(m.id, m);
        if (instance != null) {
          g.staticMembers.put(instance, m.id);
        }
      } else if (m.epoch != 0 || !m.assigned.isEmpty()) {
        // Rejoining after it was fenced: it gave up everything it held.
        m.assigned = new TreeMap<>();
        m.revoking = new TreeMap<>();
        m.state = MemberState.STABLE;
        m.epoch = 0;
      }
      m.instanceId = instance;
    } else if (epoch != m.epoch
        && !(epoch == m.previousEpoch && ownsOnly(m, req.topicPartitions()))) {
      return error(
          out,
          Errors.FENCED_MEMBER_EPOCH,
          "member " + memberId + " is at epoch " + m.epoch + ", not " + epoch);
    }
    m.away = false;
    m.lastHeartbeatMs = now;
    m.client = client;
    if (req.rackId() != null) {
      m.rackId = req.rackId();
    }
    if (req.rebalanceTimeoutMs() >= 0) {
      m.rebalanceTimeoutMs = req.rebalanceTimeoutMs();
    }
    if (req.serverAssignor() != null && !req.serverAssignor().equals(m.assignor)) {
      m.assignor = req.serverAssignor();
      bump = true;
    }
    if (req.subscribedTopicNames() != null) {
      List<String> subscribed = List.copyOf(new TreeSet<>(req.subscribedTopicNames()));
      if (!subscribed.equals(m.subscribed)) {
        m.subscribed = subscribed;
        bump = true;
      }
    }
    boolean full = req.topicPartitions() != null;
    Map<String, TreeSet<Integer>> owned = full ? owned(m, req.topicPartitions()) : null;
    Map<String, TreeSet<Integer>> before = copy(m.assigned);
    int epochBefore = m.epoch;
    refreshTarget(g, bump);
    reconcile(g, m, owned, now);
    out.setMemberId(m.id).setMemberEpoch(m.epoch);
    if (full || epoch == 0 || m.epoch != epochBefore || !m.assigned.equals(before)) {
      out.setAssignment(assignmentOf(m.assigned));
    }
    return out;
  }

  private static ConsumerGroupHeartbeatResponseData error(
      ConsumerGroupHeartbeatResponseData out, Errors e, String message) {
    return out.setErrorCode(e.code()).setErrorMessage(message);
  }

  /** Whether what a member says it owns (null: unchanged) lies within what it may own. */
  private static boolean ownsOnly(
      Member m, List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned) {
    if (owned == null) {
      return true;
    }
    Map<String, TreeSet<Integer>> o = owned(m, owned);
    for (Map.Entry<String, TreeSet<Integer>> e : o.entrySet()) {
      TreeSet<Integer> may = m.assigned.get(e.getKey());
      if (may == null || !may.containsAll(e.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** A member's owned partitions by topic name; topics it neither holds nor subscribes are left. */
  private static Map<String, TreeSet<Integer>> owned(
      Member m, List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned) {
    Map<Uuid, String> names = new HashMap<>();
    for (String t : m.subscribed) {
      names.put(KafkaTopics.topicId(t), t);
    }
    for (String t : m.assigned.keySet()) {
      names.put(KafkaTopics.topicId(t), t);
    }
    for (String t : m.revoking.keySet()) {
      names.put(KafkaTopics.topicId(t), t);
    }
    Map<String, TreeSet<Integer>> out = new TreeMap<>();
    for (ConsumerGroupHeartbeatRequestData.TopicPartitions tp : owned) {
      String name = names.get(tp.topicId());
      if (name != null && !tp.partitions().isEmpty()) {
        out.computeIfAbsent(name, k -> new TreeSet<>()).addAll(tp.partitions());
      }
    }
    return out;
  }

  private static ConsumerGroupHeartbeatResponseData.Assignment assignmentOf(
      Map<String, TreeSet<Integer>> assigned) {
    ConsumerGroupHeartbeatResponseData.Assignment a =
        new ConsumerGroupHeartbeatResponseData.Assignment();
    assigned.forEach(
        (topic, parts) ->
            a.topicPartitions()
                .add(
                    new ConsumerGroupHeartbeatResponseData.TopicPartitions()
                        .setTopicId(KafkaTopics.topicId(topic))
                        .setPartitions(new ArrayList<>(parts))));
    return a;
  }

  // ------------------------------------------------------------------ target assignment

  /** A new target when the group epoch moved on, or a subscribed topic's partitions changed. */
  private void refreshTarget(Group g, boolean changed) {
    Map<String, Integer> counts = new HashMap<>();
    for (Member m : g.members.values()) {
      for (String t : m.subscribed) {
        counts.computeIfAbsent(t, partitionsOf::applyAsInt);
      }
    }
    if (changed || !counts.equals(g.partitionCounts)) {
      g.groupEpoch++;
    }
    if (g.groupEpoch == g.assignmentEpoch) {
      return;
    }
    g.partitionCounts = counts;
    g.target = "range".equals(g.assignor()) ? range(g, counts) : uniform(g, counts);
    g.assignmentEpoch = g.groupEpoch;
  }

  /** Per topic, its members in id order get consecutive ranges of its partitions. */
  static Map<String, Map<String, TreeSet<Integer>>> range(Group g, Map<String, Integer> counts) {
    Map<String, Map<String, TreeSet<Integer>>> target = emptyTarget(g);
    new TreeMap<>(counts)
        .forEach(
            (topic, n) -> {
              List<String> subscribers = new ArrayList<>();
              for (Member m : g.members.values()) {
                if (m.subscribed.contains(topic)) {
                  subscribers.add(m.id);
                }
              }
              subscribers.sort(null);
              int members = subscribers.size();
              int p = 0;
              for (int i = 0; i < members; i++) {
                int take = n / members + (i < n % members ? 1 : 0);
                for (int k = 0; k < take; k++, p++) {
                  target
                      .get(subscribers.get(i))
                      .computeIfAbsent(topic, t -> new TreeSet<>())
                      .add(p);
                }
              }
            });
    return target;
  }

  /**
   * Balanced and sticky: a member keeps what its previous target gave it, up to its fair share; the
   * rest goes, partition by partition, to the subscriber holding fewest; then partitions move from
   * the fullest to the emptiest subscriber while they differ by more than one.
   */
  static Map<String, Map<String, TreeSet<Integer>>> uniform(Group g, Map<String, Integer> counts) {
    Map<String, Map<String, TreeSet<Integer>>> target = emptyTarget(g);
    Map<String, Integer> load = new HashMap<>();
    g.members.keySet().forEach(id -> load.put(id, 0));
    int total = 0;
    for (int n : counts.values()) {
      total += n;
    }
    int share = g.members.isEmpty() ? 0 : (total + g.members.size() - 1) / g.members.size();
    Set<String> taken = new java.util.HashSet<>();
    List<String> ids = new ArrayList<>(g.members.keySet());
    ids.sort(null);
    for (String id : ids) {
      Member m = g.members.get(id);
      Map<String, TreeSet<Integer>> before = g.target.getOrDefault(id, Map.of());
      for (Map.Entry<String, TreeSet<Integer>> e : new TreeMap<>(before).entrySet()) {
        String topic = e.getKey();
        if (!m.subscribed.contains(topic)) {
          continue;
        }
        for (int p : e.getValue()) {
          if (p < counts.getOrDefault(topic, 0)
              && load.get(id) < share
              && taken.add(topic + "/" + p)) {
            target.get(id).computeIfAbsent(topic, t -> new TreeSet<>()).add(p);
            load.merge(id, 1, Integer::sum);
          }
        }
      }
    }
    for (Map.Entry<String, Integer> e : new TreeMap<>(counts).entrySet()) {
      String topic = e.getKey();
      for (int p = 0; p < e.getValue(); p++) {
        if (taken.contains(topic + "/" + p)) {
          continue;
        }
        String best = null;
        for (String id : ids) {
          if (g.members.get(id).subscribed.contains(topic)
              && (best == null || load.get(id) < load.get(best))) {
            best = id;
          }
        }
        if (best != null) {
          taken.add(topic + "/" + p);
          target.get(best).computeIfAbsent(topic, t -> new TreeSet<>()).add(p);
          load.merge(best, 1, Integer::sum);
        }
      }
    }
    // Subscriptions that differ can leave one member fuller than another that could take over.
    for (int moves = 0; moves < total; moves++) {
      if (!moveOne(g, target, load, ids)) {
        break;
      }
    }
    return target;
  }

  private static boolean moveOne(
      Group g,
      Map<String, Map<String, TreeSet<Integer>>> target,
      Map<String, Integer> load,
      List<String> ids) {
    for (String from : ids) {
      for (String to : ids) {
        if (load.get(from) <= load.get(to) + 1) {
          continue;
        }
        for (Map.Entry<String, TreeSet<Integer>> e : target.get(from).entrySet()) {
          if (!e.getValue().isEmpty() && g.members.get(to).subscribed.contains(e.getKey())) {
            int p = e.getValue().pollLast();
            target.get(to).computeIfAbsent(e.getKey(), t -> new TreeSet<>()).add(p);
            load.merge(from, -1, Integer::sum);
            load.merge(to, 1, Integer::sum);
            return true;
          }
        }
      }
    }
    return false;
  }

  private static Map<String, Map<String, TreeSet<Integer>>> emptyTarget(Group g) {
    Map<String, Map<String, TreeSet<Integer>>> target = new HashMap<>();
    g.members.keySet().forEach(id -> target.put(id, new TreeMap<>()));
    return target;
  }

  // ------------------------------------------------------------------ reconciliation

  /**
   * Moves a member towards its target: revocation first (its epoch stays until it has given the
   * partitions up), then the new epoch with what no other member still holds.
   */
  private void reconcile(Group g, Member m, Map<String, TreeSet<Integer>> owned, long now) {
    if (m.state == MemberState.UNREVOKED) {
      if (owned == null || overlaps(owned, m.revoking)) {
        return; // still giving them up
      }
      m.revoking = new TreeMap<>();
      m.state = MemberState.STABLE;
    }
    Map<String, TreeSet<Integer>> target = g.target.getOrDefault(m.id, Map.of());
    if (m.epoch == g.assignmentEpoch && m.state == MemberState.STABLE) {
      return;
    }
    if (m.epoch != g.assignmentEpoch) {
      Map<String, TreeSet<Integer>> keep = new TreeMap<>();
      Map<String, TreeSet<Integer>> revoke = new TreeMap<>();
      m.assigned.forEach(
          (topic, parts) -> {
            Set<Integer> wanted = target.getOrDefault(topic, new TreeSet<>());
            for (int p : parts) {
              (wanted.contains(p) ? keep : revoke)
                  .computeIfAbsent(topic, t -> new TreeSet<>())
                  .add(p);
            }
          });
      if (!revoke.isEmpty()) {
        m.assigned = keep;
        m.revoking = revoke;
        m.state = MemberState.UNREVOKED;
        m.revokeDeadlineMs = now + Math.max(m.rebalanceTimeoutMs, settings.heartbeatIntervalMs());
        return;
      }
      m.previousEpoch = m.epoch;
      m.epoch = g.assignmentEpoch;
    }
    // Take what the target adds, as far as the other members have let it go.
    boolean all = true;
    for (Map.Entry<String, TreeSet<Integer>> e : target.entrySet()) {
      for (int p : e.getValue()) {
        TreeSet<Integer> mine = m.assigned.computeIfAbsent(e.getKey(), t -> new TreeSet<>());
        if (mine.contains(p)) {
          continue;
        }
        if (heldByAnother(g, m, e.getKey(), p)) {
          all = false;
        } else {
          mine.add(p);
        }
      }
    }
    m.assigned.values().removeIf(Set::isEmpty);
    m.state = all ? MemberState.STABLE : MemberState.UNRELEASED;
  }

  private static boolean heldByAnother(Group g, Member self, String topic, int p) {
    for (Member o : g.members.values()) {
      if (o != self
          && (o.assigned.getOrDefault(topic, new TreeSet<>()).contains(p)
              || o.revoking.getOrDefault(topic, new TreeSet<>()).contains(p))) {
        return true;
      }
    }
    return false;
  }

  private static boolean overlaps(
      Map<String, TreeSet<Integer>> a, Map<String, TreeSet<Integer>> b) {
    for (Map.Entry<String, TreeSet<Integer>> e : a.entrySet()) {
      TreeSet<Integer> other = b.get(e.getKey());
      if (other != null) {
        for (int p : e.getValue()) {
          if (other.contains(p)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private static Map<String, TreeSet<Integer>> copy(Map<String, TreeSet<Integer>> m) {
    Map<String, TreeSet<Integer>> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k, new TreeSet<>(v)));
    return out;
  }

  private void remove(Group g, Member m) {
    g.members.remove(m.id);
    g.target.remove(m.id);
    if (m.instanceId != null && m.id.equals(g.staticMembers.get(m.instanceId))) {
      g.staticMembers.remove(m.instanceId);
    }
    g.groupEpoch++;
    if (g.members.isEmpty()) {
      groups.remove(g.id); // committed offsets stay in the broker
    }
  }

  /**
   * Removes silent members, and those that keep revoked partitions past their rebalance timeout.
   */
  void tick() {
    long now = clock.getAsLong();
    for (Group g : List.copyOf(groups.values())) {
      for (Iterator<Member> it = List.copyOf(g.members.values()).iterator(); it.hasNext(); ) {
        Member m = it.next();
        if (now - m.lastHeartbeatMs > settings.sessionTimeoutMs()
            || (m.state == MemberState.UNREVOKED && now > m.revokeDeadlineMs)) {
          remove(g, m);
        }
      }
    }
  }

  // ------------------------------------------------------------------ offsets, describe, list

  /**
   * Whether a commit (or, with {@code fetch}, an offset fetch) of a member at {@code memberEpoch}
   * may go ahead: the member must be in the group at that epoch (STALE_MEMBER_EPOCH otherwise); one
   * made outside the group (no member, epoch -1) only while the group has no members.
   */
  Errors checkOffsets(String groupId, String memberId, int memberEpoch, boolean fetch) {
    Group g = groups.get(groupId);
    if ((memberId == null || memberId.isEmpty()) && memberEpoch < 0) {
      return fetch || g == null || g.members.isEmpty() ? Errors.NONE : Errors.UNKNOWN_MEMBER_ID;
    }
    Member m = g == null ? null : g.members.get(memberId);
    if (m == null) {
      return Errors.UNKNOWN_MEMBER_ID;
    }
    // The member's epoch, or the one before it: the heartbeat answer that moved the member on may
    // not have reached the client when it sent this (KIP-1251 relaxes the check the same way, per
    // partition). What a member holds at the new epoch includes what it held at the previous one,
    // and what it gave up went before the move, so an older epoch cannot commit another's work.
    if (memberEpoch != m.epoch && (memberEpoch != m.previousEpoch || memberEpoch <= 0)) {
      return Errors.STALE_MEMBER_EPOCH;
    }
    return Errors.NONE;
  }

  ConsumerGroupDescribeResponseData.DescribedGroup describe(String groupId) {
    ConsumerGroupDescribeResponseData.DescribedGroup d =
        new ConsumerGroupDescribeResponseData.DescribedGroup().setGroupId(groupId);
    Group g = groups.get(groupId);
    if (g == null) {
      return d.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code())
          .setErrorMessage("group " + groupId + " is not a consumer group with members")
          .setGroupState("Dead");
    }
    d.setGroupState(g.state())
        .setGroupEpoch(g.groupEpoch)
        .setAssignmentEpoch(g.assignmentEpoch)
        .setAssignorName(g.assignor());
    for (Member m : g.members.values()) {
      d.members()
          .add(
              new ConsumerGroupDescribeResponseData.Member()
                  .setMemberId(m.id)
                  .setInstanceId(m.instanceId)
                  .setRackId(m.rackId)
                  .setMemberEpoch(m.epoch)
                  .setClientId(m.client == null ? "" : m.client.clientId())
                  .setClientHost(m.client == null ? "" : m.client.host())
                  .setSubscribedTopicNames(m.subscribed)
                  .setAssignment(describeAssignment(m.assigned))
                  .setTargetAssignment(describeAssignment(g.target.getOrDefault(m.id, Map.of())))
                  .setMemberType((byte) 1));
    }
    return d;
  }

  private static ConsumerGroupDescribeResponseData.Assignment describeAssignment(
      Map<String, TreeSet<Integer>> parts) {
    ConsumerGroupDescribeResponseData.Assignment a =
        new ConsumerGroupDescribeResponseData.Assignment();
    new TreeMap<>(parts)
        .forEach(
            (topic, p) ->
                a.topicPartitions()
                    .add(
                        new ConsumerGroupDescribeResponseData.TopicPartitions()
                            .setTopicId(KafkaTopics.topicId(topic))
                            .setTopicName(topic)
                            .setPartitions(new ArrayList<>(p))));
    return a;
  }

  List<ListGroupsResponseData.ListedGroup> list() {
    List<ListGroupsResponseData.ListedGroup> out = new ArrayList<>();
    for (Group g : groups.values()) {
      out.add(
          new ListGroupsResponseData.ListedGroup()
              .setGroupId(g.id)
              .setProtocolType("consumer")
              .setGroupState(g.state())
              .setGroupType("consumer"));
    }
    return out;
  }
}
