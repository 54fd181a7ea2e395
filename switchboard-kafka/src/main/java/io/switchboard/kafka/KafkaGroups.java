package io.switchboard.kafka;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), as Kafka's
 * group coordinator runs it: members join, the coordinator waits for every known member to join
 * again (up to the rebalance timeout), picks a protocol every member supports, makes a new
 * generation and sends the leader every member's subscription; the leader assigns partitions on the
 * client side and hands the assignment back through SyncGroup; heartbeats keep members alive and
 * tell them when to rejoin. Members that stop heartbeating for their session timeout are removed.
 *
 * <p>Membership lives in memory (as in Kafka, a restart makes every member join again); committed
 * offsets live in the broker. Static members ({@code group.instance.id}) keep their place across a
 * rejoin under a new member id; the old id is fenced.
 *
 * <p>Thread safety: every method runs on the one executor given ({@link #executor}); callers hop
 * there, and futures complete there.
 */
final class KafkaGroups implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KafkaGroups.class);

  /** Shortest and longest session timeouts accepted (Kafka's defaults are 6 s and 30 min). */
  static final int MIN_SESSION_TIMEOUT_MS = 1_000;

  static final int MAX_SESSION_TIMEOUT_MS = 1_800_000;

  /** Groups held at once, and members per group; past them a join is refused. */
  static final int MAX_GROUPS = 100_000;

  static final int MAX_MEMBERS = 10_000;

  /** How often session and rebalance deadlines are checked. */
  static final long TICK_MS = 200;

  enum State {
    EMPTY("Empty"),
    PREPARING_REBALANCE("PreparingRebalance"),
    COMPLETING_REBALANCE("CompletingRebalance"),
    STABLE("Stable"),
    DEAD("Dead");

    final String kafkaName;

    State(String kafkaName) {
      this.kafkaName = kafkaName;
    }
  }

  /** Who asked: for DescribeGroups. */
  record Client(String clientId, String host) {}

  static final class Member {
    final String memberId;
    final String instanceId;
    final Client client;
    int sessionTimeoutMs;
    int rebalanceTimeoutMs;
    String protocolType;
    LinkedHashMap<String, byte[]> protocols;
    byte[] assignment = new byte[0];
    long lastHeartbeatMs;
    CompletableFuture<JoinGroupResponseData> awaitingJoin;
    CompletableFuture<SyncGroupResponseData> awaitingSync;
    int joinVersion;

    Member(String memberId, String instanceId, Client client) {
      this.memberId = memberId;
      this.instanceId = instanceId;
      this.client = client;
    }
  }

  static final class Group {
    final String id;
    State state = State.EMPTY;
    int generation;
    String protocolType;
    String protocolName;
    String leader;
    final LinkedHashMap<String, Member> members = new LinkedHashMap<>();
    final Map<String, String> staticMembers = new HashMap<>();
    final Map<String, Long> pendingMembers = new HashMap<>();
    long rebalanceDeadlineMs;

    /** Counts join phases, so a late generation number for an abandoned one is ignored. */
    long joinPhases;

    Group(String id) {
      this.id = id;
    }
  }

  /** Where generations are numbered and recorded (the broker's group store). */
  interface Generations {
    /** Starts {@code group}'s next generation with these members; completes with its number. */
    CompletableFuture<Integer> started(String group, List<String> members);
  }

  private final ScheduledExecutorService executor;
  private final LongSupplier clock;
  private final Generations generations;
  private final Map<String, Group> groups = new HashMap<>();
  private final KafkaConsumerGroups consumerGroups;
  private ScheduledFuture<?> ticker;

  KafkaGroups(ScheduledExecutorService executor, LongSupplier clock, Generations generations) {
    this(executor, clock, generations, new KafkaConsumerGroups.Settings(5_000, 45_000), topic -> 0);
  }

  /**
   * @param consumerSettings heartbeats of the consumer protocol (KIP-848)
   * @param partitionsOf a topic's partitions now, 0 when it does not exist (never blocks)
   */
  KafkaGroups(
      ScheduledExecutorService executor,
      LongSupplier clock,
      Generations generations,
      KafkaConsumerGroups.Settings consumerSettings,
      java.util.function.ToIntFunction<String> partitionsOf) {
    this.executor = executor;
    this.clock = clock;
    this.generations = generations;
    this.consumerGroups = new KafkaConsumerGroups(clock, consumerSettings, partitionsOf);
  }

  // ------------------------------------------------------------------ consumer protocol (KIP-848)

  /** A ConsumerGroupHeartbeat; a classic group with members under the id refuses it. */
  org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData consumerHeartbeat(
      org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData req,
      short version,
      Client client) {
    boolean classic = req.groupId() != null && hasClassicMembers(req.groupId());
    return consumerGroups.heartbeat(
        req, version, client, classic, MAX_GROUPS - groups.size(), MAX_MEMBERS);
  }

  /** A consumer-protocol group's description (GROUP_ID_NOT_FOUND for any other). */
  org.apache.kafka.common.message.ConsumerGroupDescribeResponseData.DescribedGroup
      describeConsumerGroup(String groupId) {
    return consumerGroups.describe(groupId);
  }

  /**
   * Whether a member of a consumer-protocol group may fetch its group's offsets at {@code
   * memberEpoch} (OffsetFetch 9 and later); NONE for other groups.
   */
  Errors checkOffsetFetch(String groupId, String memberId, int memberEpoch) {
    if (!consumerGroups.has(groupId) || memberId == null) {
      return Errors.NONE;
    }
    return consumerGroups.checkOffsets(groupId, memberId, memberEpoch, true);
  }

  /** Whether the consumer protocol (KIP-848) runs {@code groupId} now. */
  boolean isConsumerGroup(String groupId) {
    return consumerGroups.has(groupId);
  }

  private boolean hasClassicMembers(String groupId) {
    Group g = groups.get(groupId);
    return g != null && !g.members.isEmpty();
  }

  /** Starts checking deadlines every {@link #TICK_MS} on the executor. */
  KafkaGroups start() {
    ticker = executor.scheduleAtFixedRate(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    return this;
  }

  ScheduledExecutorService executor() {
    return executor;
  }

  /** Runs {@code call} on the coordinator's executor. */
  <T> CompletableFuture<T> on(java.util.function.Supplier<CompletableFuture<T>> call) {
    return CompletableFuture.supplyAsync(call, executor).thenCompose(f -> f);
  }

  // ------------------------------------------------------------------ JoinGroup

  CompletableFuture<JoinGroupResponseData> join(
      JoinGroupRequestData req, short version, Client client) {
    JoinGroupResponseData error = new JoinGroupResponseData().setMemberId(req.memberId());
    if (req.groupId() == null || req.groupId().isEmpty()) {
      return done(error.setErrorCode(Errors.INVALID_GROUP_ID.code()));
    }
    if (req.sessionTimeoutMs() < MIN_SESSION_TIMEOUT_MS
        || req.sessionTimeoutMs() > MAX_SESSION_TIMEOUT_MS) {
      return done(error.setErrorCode(Errors.INVALID_SESSION_TIMEOUT.code()));
    }
    if (req.protocolType() == null || req.protocolType().isEmpty() || req.protocols().isEmpty()) {
      return done(error.setErrorCode(Errors.INCONSISTENT_GROUP_PROTOCOL.code()));
    }
    if (consumerGroups.hasMembers(req.groupId())) { // a consumer-protocol group (KIP-848)
      return done(error.setErrorCode(Errors.INCONSISTENT_GROUP_PROTOCOL.code()));
    }
    Group g = groups.get(req.groupId());
    if (g == null) {
      if (groups.size() + consumerGroups.size() >= MAX_GROUPS) {
        return done(error.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code()));
      }
      g = new Group(req.groupId());
      groups.put(g.id, g);
    }
    LinkedHashMap<String, byte[]> protocols = new LinkedHashMap<>();
    req.protocols().forEach(p -> protocols.put(p.name(), p.metadata()));
    if (!g.members.isEmpty()) {
      if (!req.protocolType().equals(g.protocolType) || !sharesAProtocol(g, protocols.keySet())) {
        return done(error.setErrorCode(Errors.INCONSISTENT_GROUP_PROTOCOL.code()));
      }
    }
    long now = clock.getAsLong();
    String memberId = req.memberId() == null ? "" : req.memberId();
    Member m;
    if (memberId.isEmpty()) {
      String newId = memberIdFor(client);
      if (req.groupInstanceId() != null) {
        // A static member (re)joining: it takes its place under a new id; the old one is fenced.
        String old = g.staticMembers.get(req.groupInstanceId());
        Member previous = old == null ? null : g.members.remove(old);
        if (previous != null) {
          failWaiting(previous, Errors.FENCED_INSTANCE_ID);
        }
        if (old != null && old.equals(g.leader)) {
          g.leader = newId;
        }
        g.staticMembers.put(req.groupInstanceId(), newId);
      } else if (version >= 4) {
        // KIP-394: the member learns its id first and joins with it.
        g.pendingMembers.put(newId, now + req.sessionTimeoutMs());
        return done(error.setMemberId(newId).setErrorCode(Errors.MEMBER_ID_REQUIRED.code()));
      }
      if (g.members.size() >= MAX_MEMBERS) {
        return done(error.setErrorCode(Errors.GROUP_MAX_SIZE_REACHED.code()));
      }
      m = new Member(newId, req.groupInstanceId(), client);
      g.members.put(newId, m);
    } else {
      m = g.members.get(memberId);
      if (m == null) {
        if (g.pendingMembers.remove(memberId) == null) {
          return done(error.setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
        }
        if (g.members.size() >= MAX_MEMBERS) {
          return done(error.setErrorCode(Errors.GROUP_MAX_SIZE_REACHED.code()));
        }
        m = new Member(memberId, req.groupInstanceId(), client);
        g.members.put(memberId, m);
        if (req.groupInstanceId() != null) {
          g.staticMembers.put(req.groupInstanceId(), memberId);
        }
      } else if (req.groupInstanceId() != null
          && !memberId.equals(g.staticMembers.get(req.groupInstanceId()))) {
        return done(error.setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
      }
    }
    if (g.members.size() == 1) {
      g.protocolType = req.protocolType();
    }
    m.sessionTimeoutMs = req.sessionTimeoutMs();
    m.rebalanceTimeoutMs =
        req.rebalanceTimeoutMs() < 0 ? req.sessionTimeoutMs() : req.rebalanceTimeoutMs();
    m.protocolType = req.protocolType();
    m.protocols = protocols;
    m.lastHeartbeatMs = now;
    m.joinVersion = version;
    if (m.awaitingJoin != null) {
      m.awaitingJoin.complete(
          new JoinGroupResponseData()
              .setMemberId(m.memberId)
              .setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
    }
    CompletableFuture<JoinGroupResponseData> answer = new CompletableFuture<>();
    m.awaitingJoin = answer;
    if (g.leader == null) {
      g.leader = m.memberId;
    }
    prepareRebalance(g, now);
    maybeCompleteJoin(g);
    return answer;
  }

  private static boolean sharesAProtocol(Group g, java.util.Set<String> offered) {
    for (Member m : g.members.values()) {
      if (m.protocols != null && java.util.Collections.disjoint(m.protocols.keySet(), offered)) {
        return false;
      }
    }
    return true;
  }

  private void prepareRebalance(Group g, long now) {
    if (g.state == State.COMPLETING_REBALANCE) {
      // The assignment being made is stale: members waiting on SyncGroup rejoin.
      for (Member m : g.members.values()) {
        if (m.awaitingSync != null) {
          m.awaitingSync.complete(
              new SyncGroupResponseData().setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
          m.awaitingSync = null;
        }
      }
    }
    if (g.state != State.PREPARING_REBALANCE) {
      g.state = State.PREPARING_REBALANCE;
      int timeout = 0;
      for (Member m : g.members.values()) {
        timeout = Math.max(timeout, m.rebalanceTimeoutMs);
      }
      g.rebalanceDeadlineMs = now + timeout;
    }
  }

  /** Completes the join phase once every member has rejoined (or at the deadline). */
  private void maybeCompleteJoin(Group g) {
    if (g.state != State.PREPARING_REBALANCE) {
      return;
    }
    for (Member m : g.members.values()) {
      if (m.awaitingJoin == null) {
        return;
      }
    }
    completeJoin(g);
  }

  private void completeJoin(Group g) {
    // Members that did not rejoin in time are out.
    for (Iterator<Member> it = g.members.values().iterator(); it.hasNext(); ) {
      Member m = it.next();
      if (m.awaitingJoin == null) {
        it.remove();
        forgetStatic(g, m);
        failWaiting(m, Errors.UNKNOWN_MEMBER_ID);
      }
    }
    if (g.members.isEmpty()) {
      becomeEmpty(g);
      return;
    }
    if (g.leader == null || !g.members.containsKey(g.leader)) {
      g.leader = g.members.keySet().iterator().next();
    }
    g.protocolName = selectProtocol(g);
    g.state = State.COMPLETING_REBALANCE;
    long phase = ++g.joinPhases;
    CompletableFuture<Integer> numbered =
        generations.started(g.id, List.copyOf(g.members.keySet()));
    if (numbered.isDone()) {
      joined(g, phase, numbered);
    } else {
      numbered.whenComplete((n, e) -> executor.execute(() -> joined(g, phase, numbered)));
    }
  }

  /** The broker numbered the generation: every waiting member gets its JoinGroup answer. */
  private void joined(Group g, long phase, CompletableFuture<Integer> numbered) {
    if (g.joinPhases != phase || g.state != State.COMPLETING_REBALANCE) {
      return; // members changed meanwhile: a newer join phase answers them
    }
    int generation;
    try {
      generation = numbered.join();
    } catch (RuntimeException e) {
      LOG.warn("kafka: group {}: its new generation was not recorded: {}", g.id, e.toString());
      for (Member m : g.members.values()) {
        failWaiting(m, Errors.COORDINATOR_NOT_AVAILABLE);
      }
      g.state = State.PREPARING_REBALANCE;
      g.rebalanceDeadlineMs = clock.getAsLong() + MIN_SESSION_TIMEOUT_MS;
      return;
    }
    g.generation = generation;
    long now = clock.getAsLong();
    for (Member m : g.members.values()) {
      JoinGroupResponseData r =
          new JoinGroupResponseData()
              .setGenerationId(g.generation)
              .setProtocolType(g.protocolType)
              .setProtocolName(g.protocolName)
              .setLeader(g.leader)
              .setMemberId(m.memberId);
      if (m.memberId.equals(g.leader)) {
        List<JoinGroupResponseData.JoinGroupResponseMember> all = new ArrayList<>();
        for (Member other : g.members.values()) {
          all.add(
              new JoinGroupResponseData.JoinGroupResponseMember()
                  .setMemberId(other.memberId)
                  .setGroupInstanceId(other.instanceId)
                  .setMetadata(other.protocols.get(g.protocolName)));
        }
        r.setMembers(all);
      }
      m.lastHeartbeatMs = now;
      CompletableFuture<JoinGroupResponseData> waiting = m.awaitingJoin;
      m.awaitingJoin = null;
      if (waiting != null) {
        waiting.complete(r);
      }
    }
  }

  /** The last member is gone: the group has no active generation in the broker either. */
  private void becomeEmpty(Group g) {
    boolean wasActive = g.state != State.EMPTY;
    g.state = State.EMPTY;
    g.leader = null;
    g.protocolName = null;
    g.joinPhases++;
    if (wasActive) {
      generations
          .started(g.id, List.of())
          .whenComplete(
              (n, e) -> {
                if (e != null) {
                  LOG.warn("kafka: group {}: its end was not recorded: {}", g.id, e.toString());
                }
              });
    }
  }

  /** A member id: the client's id (cut to 200 characters) and a random part. */
  static String memberIdFor(Client client) {
    String c = client.clientId() == null ? "" : client.clientId();
    return (c.length() > 200 ? c.substring(0, 200) : c) + "-" + UUID.randomUUID();
  }

  /** The protocol most members prefer among those every member supports (Kafka's vote). */
  private static String selectProtocol(Group g) {
    java.util.Set<String> common = null;
    for (Member m : g.members.values()) {
      if (common == null) {
        common = new java.util.LinkedHashSet<>(m.protocols.keySet());
      } else {
        common.retainAll(m.protocols.keySet());
      }
    }
    Map<String, Integer> votes = new LinkedHashMap<>();
    for (Member m : g.members.values()) {
      for (String p : m.protocols.keySet()) {
        if (common.contains(p)) {
          votes.merge(p, 1, Integer::sum);
          break;
        }
      }
    }
    return votes.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .map(Map.Entry::getKey)
        .orElse(common.iterator().next());
  }

  // ------------------------------------------------------------------ SyncGroup

  CompletableFuture<SyncGroupResponseData> sync(SyncGroupRequestData req) {
    SyncGroupResponseData error = new SyncGroupResponseData();
    Group g = groups.get(req.groupId());
    Member m = g == null ? null : g.members.get(req.memberId());
    if (m == null) {
      return done(error.setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
    }
    if (fenced(g, m, req.groupInstanceId())) {
      return done(error.setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
    }
    if (req.generationId() != g.generation) {
      return done(error.setErrorCode(Errors.ILLEGAL_GENERATION.code()));
    }
    if (req.protocolType() != null && !req.protocolType().equals(g.protocolType)
        || req.protocolName() != null && !req.protocolName().equals(g.protocolName)) {
      return done(error.setErrorCode(Errors.INCONSISTENT_GROUP_PROTOCOL.code()));
    }
    m.lastHeartbeatMs = clock.getAsLong();
    switch (g.state) {
      case PREPARING_REBALANCE:
        return done(error.setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
      case STABLE:
        return done(synced(g, m));
      case COMPLETING_REBALANCE:
        if (m.memberId.equals(g.leader)) {
          Map<String, byte[]> given = new HashMap<>();
          req.assignments().forEach(a -> given.put(a.memberId(), a.assignment()));
          for (Member each : g.members.values()) {
            each.assignment = given.getOrDefault(each.memberId, new byte[0]);
          }
          g.state = State.STABLE;
          for (Member each : g.members.values()) {
            if (each.awaitingSync != null) {
              each.awaitingSync.complete(synced(g, each));
              each.awaitingSync = null;
            }
          }
          return done(synced(g, m));
        }
        if (m.awaitingSync != null) {
          m.awaitingSync.complete(
              new SyncGroupResponseData().setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
        }
        CompletableFuture<SyncGroupResponseData> answer = new CompletableFuture<>();
        m.awaitingSync = answer;
        return answer;
      default:
        return done(error.setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
    }
  }

  private static SyncGroupResponseData synced(Group g, Member m) {
    return new SyncGroupResponseData()
        .setProtocolType(g.protocolType)
        .setProtocolName(g.protocolName)
        .setAssignment(m.assignment);
  }

  // ------------------------------------------------------------------ Heartbeat, LeaveGroup

  CompletableFuture<HeartbeatResponseData> heartbeat(HeartbeatRequestData req) {
    HeartbeatResponseData r = new HeartbeatResponseData();
    Group g = groups.get(req.groupId());
    Member m = g == null ? null : g.members.get(req.memberId());
    if (m == null) {
      return done(r.setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
    }
    if (fenced(g, m, req.groupInstanceId())) {
      return done(r.setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
    }
    m.lastHeartbeatMs = clock.getAsLong();
    if (g.state == State.PREPARING_REBALANCE) {
      return done(r.setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
    }
    if (req.generationId() != g.generation) {
      return done(r.setErrorCode(Errors.ILLEGAL_GENERATION.code()));
    }
    return done(r.setErrorCode(Errors.NONE.code()));
  }

  CompletableFuture<LeaveGroupResponseData> leave(LeaveGroupRequestData req, short version) {
    LeaveGroupResponseData out = new LeaveGroupResponseData();
    List<LeaveGroupRequestData.MemberIdentity> leaving = new ArrayList<>();
    if (version >= 3) {
      leaving.addAll(req.members());
    } else {
      leaving.add(new LeaveGroupRequestData.MemberIdentity().setMemberId(req.memberId()));
    }
    Group g = groups.get(req.groupId());
    boolean changed = false;
    for (LeaveGroupRequestData.MemberIdentity who : leaving) {
      String memberId = who.memberId();
      if (g != null
          && (memberId == null || memberId.isEmpty() || memberId.equals("UNKNOWN_MEMBER_ID"))
          && who.groupInstanceId() != null) {
        memberId = g.staticMembers.get(who.groupInstanceId());
      }
      Member m = g == null || memberId == null ? null : g.members.get(memberId);
      Errors e;
      if (m == null) {
        e = Errors.UNKNOWN_MEMBER_ID;
      } else if (fenced(g, m, who.groupInstanceId())) {
        e = Errors.FENCED_INSTANCE_ID;
      } else {
        g.members.remove(m.memberId);
        forgetStatic(g, m);
        failWaiting(m, Errors.UNKNOWN_MEMBER_ID);
        changed = true;
        e = Errors.NONE;
      }
      out.members()
          .add(
              new LeaveGroupResponseData.MemberResponse()
                  .setMemberId(who.memberId())
                  .setGroupInstanceId(who.groupInstanceId())
                  .setErrorCode(e.code()));
    }
    if (version < 3) {
      short code = out.members().get(0).errorCode();
      out.members().clear();
      out.setErrorCode(code);
    }
    if (changed) {
      membersChanged(g);
    }
    return done(out);
  }

  /** After members left or expired: the rest rebalance, or the group is empty. */
  private void membersChanged(Group g) {
    if (g.leader != null && !g.members.containsKey(g.leader)) {
      g.leader = null;
    }
    if (g.members.isEmpty()) {
      becomeEmpty(g);
      return;
    }
    prepareRebalance(g, clock.getAsLong());
    maybeCompleteJoin(g);
  }

  private static boolean fenced(Group g, Member m, String instanceId) {
    return instanceId != null && !m.memberId.equals(g.staticMembers.get(instanceId));
  }

  private static void forgetStatic(Group g, Member m) {
    if (m.instanceId != null && m.memberId.equals(g.staticMembers.get(m.instanceId))) {
      g.staticMembers.remove(m.instanceId);
    }
  }

  private static void failWaiting(Member m, Errors error) {
    if (m.awaitingJoin != null) {
      m.awaitingJoin.complete(
          new JoinGroupResponseData().setMemberId(m.memberId).setErrorCode(error.code()));
      m.awaitingJoin = null;
    }
    if (m.awaitingSync != null) {
      m.awaitingSync.complete(new SyncGroupResponseData().setErrorCode(error.code()));
      m.awaitingSync = null;
    }
  }

  // ------------------------------------------------------------------ timers

  /** Expires silent members and ends rebalances whose time is up. */
  void tick() {
    consumerGroups.tick();
    long now = clock.getAsLong();
    for (Iterator<Group> it = groups.values().iterator(); it.hasNext(); ) {
      Group g = it.next();
      g.pendingMembers.values().removeIf(deadline -> deadline < now);
      boolean changed = false;
      for (Iterator<Member> members = g.members.values().iterator(); members.hasNext(); ) {
        Member m = members.next();
        // A member waiting in JoinGroup is alive: its wait is bounded by the rebalance deadline.
        if (m.awaitingJoin == null && now - m.lastHeartbeatMs > m.sessionTimeoutMs) {
          members.remove();
          forgetStatic(g, m);
          failWaiting(m, Errors.UNKNOWN_MEMBER_ID);
          changed = true;
        }
      }
      if (changed) {
        membersChanged(g);
      }
      if (g.state == State.PREPARING_REBALANCE && now >= g.rebalanceDeadlineMs) {
        completeJoin(g);
      }
      if (g.state == State.EMPTY && g.members.isEmpty() && g.pendingMembers.isEmpty()) {
        it.remove(); // committed offsets stay in the broker; membership starts again
      }
    }
  }

  // ------------------------------------------------------------------ describe, list

  DescribeGroupsResponseData.DescribedGroup describe(String groupId) {
    DescribeGroupsResponseData.DescribedGroup d =
        new DescribeGroupsResponseData.DescribedGroup().setGroupId(groupId);
    if (consumerGroups.hasMembers(groupId)) { // as Kafka: ConsumerGroupDescribe describes it
      return d.setGroupState(State.DEAD.kafkaName)
          .setProtocolType("")
          .setProtocolData("")
          .setErrorCode(Errors.GROUP_ID_NOT_FOUND.code())
          .setErrorMessage("group " + groupId + " is not a classic group");
    }
    Group g = groups.get(groupId);
    if (g == null) {
      return d.setGroupState(State.DEAD.kafkaName).setProtocolType("").setProtocolData("");
    }
    d.setGroupState(g.state.kafkaName)
        .setProtocolType(g.protocolType == null ? "" : g.protocolType)
        .setProtocolData(
            g.state == State.STABLE || g.state == State.COMPLETING_REBALANCE ? g.protocolName : "");
    for (Member m : g.members.values()) {
      d.members()
          .add(
              new DescribeGroupsResponseData.DescribedGroupMember()
                  .setMemberId(m.memberId)
                  .setGroupInstanceId(m.instanceId)
                  .setClientId(m.client.clientId())
                  .setClientHost(m.client.host())
                  .setMemberMetadata(
                      g.state == State.STABLE && g.protocolName != null
                          ? m.protocols.get(g.protocolName)
                          : new byte[0])
                  .setMemberAssignment(g.state == State.STABLE ? m.assignment : new byte[0]));
    }
    return d;
  }

  /** Groups with members now, and their state. */
  List<ListGroupsResponseData.ListedGroup> list() {
    List<ListGroupsResponseData.ListedGroup> out = consumerGroups.list();
    for (Group g : groups.values()) {
      out.add(
          new ListGroupsResponseData.ListedGroup()
              .setGroupId(g.id)
              .setProtocolType(g.protocolType == null ? "" : g.protocolType)
              .setGroupState(g.state.kafkaName)
              .setGroupType("classic"));
    }
    return out;
  }

  /** Whether a member of {@code groupId} may commit for {@code generation} (null: yes). */
  Errors checkCommit(String groupId, int generation, String memberId, String instanceId) {
    if (consumerGroups.has(groupId)) { // KIP-848: the generation is the member's epoch
      return consumerGroups.checkOffsets(groupId, memberId, generation, false);
    }
    Group g = groups.get(groupId);
    if (generation < 0 && (memberId == null || memberId.isEmpty())) {
      // A standalone commit (assign, or an admin tool): only while nobody is a member.
      return g == null || g.members.isEmpty() ? Errors.NONE : Errors.UNKNOWN_MEMBER_ID;
    }
    Member m = g == null ? null : g.members.get(memberId);
    if (m == null) {
      return Errors.UNKNOWN_MEMBER_ID;
    }
    if (fenced(g, m, instanceId)) {
      return Errors.FENCED_INSTANCE_ID;
    }
    if (generation != g.generation) {
      return Errors.ILLEGAL_GENERATION;
    }
    if (g.state == State.PREPARING_REBALANCE) {
      return Errors.REBALANCE_IN_PROGRESS;
    }
    m.lastHeartbeatMs = clock.getAsLong();
    return Errors.NONE;
  }

  /** Whether the group has members now (DeleteGroups refuses those: NON_EMPTY_GROUP). */
  boolean hasMembers(String groupId) {
    return hasClassicMembers(groupId) || consumerGroups.hasMembers(groupId);
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  @Override
  public void close() {
    if (ticker != null) {
      ticker.cancel(false);
    }
  }
}
