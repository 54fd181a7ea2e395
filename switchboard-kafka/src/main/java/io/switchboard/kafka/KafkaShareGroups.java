package io.switchboard.kafka;

import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.consumer.Settlement;
import io.switchboard.broker.consumer.StartPosition;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.ConfigKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.LongSupplier;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.message.ShareAcknowledgeRequestData;
import org.apache.kafka.common.message.ShareAcknowledgeResponseData;
import org.apache.kafka.common.message.ShareFetchRequestData;
import org.apache.kafka.common.message.ShareFetchResponseData;
import org.apache.kafka.common.message.ShareGroupDescribeRequestData;
import org.apache.kafka.common.message.ShareGroupDescribeResponseData;
import org.apache.kafka.common.message.ShareGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ShareGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Kafka share groups (KIP-932: ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch,
 * ShareAcknowledge) on Switchboard's work queues (docs/kafka.md "Share groups"). A share group
 * reading a topic is a {@code shared} durable consumer of the topic's stream, one per group and
 * topic, owned by this front end: a fetch acquires records through it (an acquisition lock is the
 * consumer's ack deadline, a delivery count its delivery count), ACCEPT acknowledges, RELEASE gives
 * a record back for redelivery at once, REJECT acknowledges it without processing (archived, never
 * delivered again), RENEW restarts the lock; a record delivered {@link Settings#deliveryCountLimit}
 * times without being accepted is dropped, as Kafka archives it.
 *
 * <p>Membership and share sessions live in memory, as in Kafka; what is acknowledged lives in the
 * broker's consumer state and outlives restarts. Every member is assigned every partition of the
 * topics it subscribes to (the consumer spreads records over members; no partition is ever
 * exclusive).
 *
 * <p>Thread safety: state is guarded by this object's monitor, held only for in-memory work; broker
 * calls are made outside it and complete on the caller's event loop.
 */
final class KafkaShareGroups implements AutoCloseable {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(KafkaShareGroups.class);

  /**
   * The front end's share-group settings.
   *
   * @param lockDurationMs how long acquired records stay locked to their member (Kafka's {@code
   *     group.share.record.lock.duration.ms})
   * @param deliveryCountLimit deliveries of a record before it is dropped ({@code
   *     group.share.delivery.count.limit})
   * @param fromEarliest where a new share group starts: the first record, or the next one ({@code
   *     share.auto.offset.reset} earliest/latest)
   * @param heartbeatIntervalMs what members are told to heartbeat at
   * @param sessionTimeoutMs a member not heard from for this long leaves the group
   * @param recordLocks records one share group may hold acquired per topic at once
   */
  record Settings(
      long lockDurationMs,
      int deliveryCountLimit,
      boolean fromEarliest,
      int heartbeatIntervalMs,
      int sessionTimeoutMs,
      int recordLocks) {
    static final Settings DEFAULTS = new Settings(30_000, 5, false, 5_000, 45_000, 10_000);
  }

  public static final ConfigKey<Integer> RECORD_LOCK_DURATION_MS =
      new ConfigKey<>(
          "kafka.share-record-lock-duration-ms",
          "30000",
          "How long records a Kafka share consumer fetched stay locked to it (Kafka's"
              + " group.share.record.lock.duration.ms); unacknowledged by then, they go to another"
              + " member.",
          ConfigKey.intIn(1_000, 3_600_000));

  public static final ConfigKey<Integer> DELIVERY_COUNT_LIMIT =
      new ConfigKey<>(
          "kafka.share-delivery-count-limit",
          "5",
          "Deliveries of a record to Kafka share consumers before it is dropped unprocessed (Kafka's"
              + " group.share.delivery.count.limit).",
          ConfigKey.intIn(2, 10));

  public static final ConfigKey<String> AUTO_OFFSET_RESET =
      new ConfigKey<>(
          "kafka.share-auto-offset-reset",
          "latest",
          "Where a new Kafka share group starts reading a topic: its next record (latest, Kafka's"
              + " default) or its first (earliest); Kafka's share.auto.offset.reset.",
          ConfigKey.oneOf("latest", "earliest"));

  public static final ConfigKey<Integer> HEARTBEAT_INTERVAL_MS =
      new ConfigKey<>(
          "kafka.share-heartbeat-interval-ms",
          "5000",
          "How often Kafka share consumers are told to heartbeat (Kafka's"
              + " group.share.heartbeat.interval.ms).",
          ConfigKey.intIn(100, 60_000));

  public static final ConfigKey<Integer> SESSION_TIMEOUT_MS =
      new ConfigKey<>(
          "kafka.share-session-timeout-ms",
          "45000",
          "A Kafka share consumer not heard from for this long leaves its group, and its records go"
              + " to the others (Kafka's group.share.session.timeout.ms).",
          ConfigKey.intIn(1_000, 1_800_000));

  public static final ConfigKey<Integer> RECORD_LOCKS =
      new ConfigKey<>(
          "kafka.share-record-locks",
          "10000",
          "Records a Kafka share group may hold acquired at once per topic; past it fetches wait"
              + " for acknowledgements.",
          ConfigKey.intIn(1, ConsumerConfig.MAX_ACK_PENDING));

  /** This front end's share-group keys. */
  static final List<ConfigKey<?>> CONFIG_KEYS =
      List.of(
          RECORD_LOCK_DURATION_MS,
          DELIVERY_COUNT_LIMIT,
          AUTO_OFFSET_RESET,
          HEARTBEAT_INTERVAL_MS,
          SESSION_TIMEOUT_MS,
          RECORD_LOCKS);

  /** The settings a server's configuration gives. */
  static Settings settingsOf(io.switchboard.spi.config.ServerConfig config) {
    return new Settings(
        config.get(RECORD_LOCK_DURATION_MS),
        config.get(DELIVERY_COUNT_LIMIT),
        config.get(AUTO_OFFSET_RESET).equals("earliest"),
        config.get(HEARTBEAT_INTERVAL_MS),
        config.get(SESSION_TIMEOUT_MS),
        config.get(RECORD_LOCKS));
  }

  /** Who asked: for ShareGroupDescribe. */
  record Client(String clientId, String host) {}

  /** The prefix of every consumer this front end keeps for share groups. */
  static final String CONSUMER_PREFIX = "kshare";

  /** Share groups held at once, members per group, share sessions at once. */
  static final int MAX_GROUPS = 10_000;

  static final int MAX_MEMBERS = 1_000;
  static final int MAX_SESSIONS = 10_000;

  /** Topics one member may subscribe to; member ids' length. */
  static final int MAX_TOPICS = 1_000;

  static final int MAX_MEMBER_ID_LENGTH = 255;

  /** Records one fetch acquires at most per topic, whatever the client asks. */
  static final int MAX_FETCH_RECORDS = 10_000;

  /** Longest wait of a fetch, and the slice waited per topic when a session reads several. */
  static final long MAX_WAIT_MS = 60_000;

  static final long WAIT_SLICE_MS = 100;

  /** How often member session timeouts are checked. */
  static final long TICK_MS = 200;

  /** Kafka's acknowledgement types. */
  static final byte GAP = 0;

  static final byte ACCEPT = 1;
  static final byte RELEASE = 2;
  static final byte REJECT = 3;
  static final byte RENEW = 4;

  /** Kafka's share session epochs: open, close. */
  static final int INITIAL_EPOCH = 0;

  static final int FINAL_EPOCH = -1;

  /** ShareFetch v2's acquire mode that makes MaxRecords a hard bound (KIP-1206). */
  static final byte RECORD_LIMIT = 1;

  private record Part(Uuid topicId, int partition) {}

  /** A record acquired by a member: which delivery, and until when it is locked. */
  private static final class Lock {
    final int deliveryCount;
    final long lockMs;
    long untilMs;

    Lock(int deliveryCount, long lockMs, long untilMs) {
      this.deliveryCount = deliveryCount;
      this.lockMs = lockMs;
      this.untilMs = untilMs;
    }
  }

  /** What one member holds acquired, per partition by offset; outlives its share sessions. */
  private static final class Holdings {
    final Map<Part, TreeMap<Long, Lock>> locks = new HashMap<>();

    void prune(long now) {
      for (Iterator<TreeMap<Long, Lock>> it = locks.values().iterator(); it.hasNext(); ) {
        TreeMap<Long, Lock> m = it.next();
        m.values().removeIf(l -> l.untilMs <= now);
        if (m.isEmpty()) {
          it.remove();
        }
      }
    }
  }

  private static final class Session {
    final String group;
    final String member;
    final LinkedHashSet<Part> parts = new LinkedHashSet<>();
    final Holdings holdings;
    int nextEpoch = 1;
    long lastUsedMs;

    Session(String group, String member, Holdings holdings) {
      this.group = group;
      this.member = member;
      this.holdings = holdings;
    }
  }

  private static final class Member {
    final String id;
    int epoch;
    List<String> topics = List.of();
    String rack;
    Client client;
    long lastHeartbeatMs;
    Map<Uuid, List<Integer>> sent;

    Member(String id) {
      this.id = id;
    }
  }

  private static final class Group {
    final String id;
    int epoch;
    final LinkedHashMap<String, Member> members = new LinkedHashMap<>();

    Group(String id) {
      this.id = id;
    }
  }

  private final Broker broker;
  private final Settings settings;
  private final LongSupplier clock;
  private final ScheduledExecutorService timer;
  private final Map<String, Group> groups = new HashMap<>();
  private final Map<String, Session> sessions = new HashMap<>();

  /** The group consumers known to exist ("stream/consumer"), each with its lock duration. */
  private final Map<String, Long> consumerLocks = new ConcurrentHashMap<>();

  /** Share groups' own configurations (IncrementalAlterConfigs), by group, name to value. */
  private final Map<String, TreeMap<String, String>> groupConfigs = new HashMap<>();

  private final java.nio.file.Path configFile;
  private final Map<Uuid, String> topicsById = new ConcurrentHashMap<>();
  private ScheduledFuture<?> ticker;

  KafkaShareGroups(
      Broker broker, Settings settings, ScheduledExecutorService timer, LongSupplier clock) {
    this.broker = broker;
    this.settings = settings;
    this.timer = timer;
    this.clock = clock;
    this.configFile = broker.dataDir().resolve("kafka-share-groups").resolve("configs.properties");
    broker.ownConsumers(CONSUMER_PREFIX, "Kafka share groups");
    loadConfigs();
  }

  /** Starts checking members' session timeouts every {@link #TICK_MS}. */
  KafkaShareGroups start() {
    ticker = timer.scheduleAtFixedRate(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    return this;
  }

  @Override
  public void close() {
    if (ticker != null) {
      ticker.cancel(false);
    }
  }

  Settings settings() {
    return settings;
  }

  /**
   * The consumer a share group reads a topic's stream through: {@code kshare_<group>} when the
   * group id is a consumer name's characters and short enough, else {@code kshare-<hash>} of it.
   */
  static String consumerName(String group) {
    if (group.matches("[A-Za-z0-9_-]{1,57}")) {
      return CONSUMER_PREFIX + "_" + group;
    }
    java.util.UUID u = java.util.UUID.nameUUIDFromBytes(group.getBytes(StandardCharsets.UTF_8));
    return CONSUMER_PREFIX
        + "-"
        + Long.toHexString(u.getMostSignificantBits())
        + Long.toHexString(u.getLeastSignificantBits());
  }

  private static String key(String group, String member) {
    return group + '\u0000' + member;
  }

  // ------------------------------------------------------------------ ShareGroupHeartbeat

  /** One heartbeat: join (epoch 0), stay (the member's epoch), leave (-1). */
  CompletableFuture<ApiMessage> heartbeat(
      ShareGroupHeartbeatRequestData req,
      Client client,
      BiPredicate<String, String> mayConsume,
      Executor loop) {
    ShareGroupHeartbeatResponseData out =
        new ShareGroupHeartbeatResponseData()
            .setHeartbeatIntervalMs(settings.heartbeatIntervalMs())
            .setMemberId(req.memberId());
    String group = req.groupId();
    String memberId = req.memberId();
    if (group == null || group.isEmpty()) {
      return done(out, Errors.INVALID_GROUP_ID, "a share group heartbeat names its group");
    }
    if (memberId == null || memberId.isEmpty() || memberId.length() > MAX_MEMBER_ID_LENGTH) {
      return done(
          out,
          Errors.INVALID_REQUEST,
          "the member id is the client's own (KIP-932): 1-" + MAX_MEMBER_ID_LENGTH + " characters");
    }
    List<String> topics = req.subscribedTopicNames();
    if (req.memberEpoch() == 0 && (topics == null || topics.isEmpty())) {
      return done(out, Errors.INVALID_REQUEST, "a member joining names the topics it reads");
    }
    if (req.memberEpoch() < FINAL_EPOCH) {
      return done(out, Errors.INVALID_REQUEST, "member epoch " + req.memberEpoch());
    }
    if (topics != null) {
      if (topics.size() > MAX_TOPICS) {
        return done(out, Errors.INVALID_REQUEST, "more than " + MAX_TOPICS + " topics");
      }
      for (String t : topics) {
        if (KafkaTopics.isStreamName(t) && !mayConsume.test(t, group)) {
          return done(
              out,
              Errors.TOPIC_AUTHORIZATION_FAILED,
              "not allowed to consume topic " + t + " as group " + group);
        }
      }
      topics = List.copyOf(new TreeSet<>(topics));
    }
    long now = clock.getAsLong();
    Map<Uuid, List<Integer>> assignment;
    List<String> assignedStreams = new ArrayList<>();
    List<String> left = null;
    synchronized (this) {
      Group g = groups.get(group);
      Member m = g == null ? null : g.members.get(memberId);
      if (req.memberEpoch() == FINAL_EPOCH) {
        if (m == null) {
          return done(out, Errors.UNKNOWN_MEMBER_ID, "member " + memberId + " is not in " + group);
        }
        g.members.remove(memberId);
        g.epoch++;
        if (g.members.isEmpty()) {
          groups.remove(group);
        }
        left = m.topics;
        out.setMemberEpoch(FINAL_EPOCH);
      } else if (req.memberEpoch() == 0) {
        if (g == null) {
          if (groups.size() >= MAX_GROUPS) {
            return done(
                out, Errors.GROUP_MAX_SIZE_REACHED, MAX_GROUPS + " share groups are held already");
          }
          g = new Group(group);
          groups.put(group, g);
        }
        if (m == null) {
          if (g.members.size() >= MAX_MEMBERS) {
            return done(
                out,
                Errors.GROUP_MAX_SIZE_REACHED,
                "share group " + group + " has " + MAX_MEMBERS + " members");
          }
          m = new Member(memberId);
          g.members.put(memberId, m);
        }
        m.topics = topics;
        m.sent = null;
        m.client = client;
      } else {
        if (m == null) {
          return done(out, Errors.UNKNOWN_MEMBER_ID, "member " + memberId + " is not in " + group);
        }
        if (req.memberEpoch() != m.epoch) {
          return done(
              out,
              Errors.FENCED_MEMBER_EPOCH,
              "member " + memberId + " is at epoch " + m.epoch + ", not " + req.memberEpoch());
        }
        if (topics != null && !topics.equals(m.topics)) {
          m.topics = topics;
        }
      }
      if (left == null) {
        m.lastHeartbeatMs = now;
        if (req.rackId() != null) {
          m.rack = req.rackId();
        }
        assignment = assignmentOf(m.topics, assignedStreams);
        if (!assignment.equals(m.sent)) {
          g.epoch++;
          m.epoch = g.epoch;
          m.sent = assignment;
          ShareGroupHeartbeatResponseData.Assignment a =
              new ShareGroupHeartbeatResponseData.Assignment();
          assignment.forEach(
              (id, ps) ->
                  a.topicPartitions()
                      .add(
                          new ShareGroupHeartbeatResponseData.TopicPartitions()
                              .setTopicId(id)
                              .setPartitions(new ArrayList<>(ps))));
          out.setAssignment(a);
        }
        out.setMemberEpoch(m.epoch);
      }
    }
    if (left != null) {
      release(group, memberId, left);
      return CompletableFuture.completedFuture(out);
    }
    // The consumers exist before the member hears of its partitions, so that a group starting
    // from the latest record starts when its first member is told it may read.
    return ensureConsumers(group, assignedStreams, loop).thenApply(v -> (ApiMessage) out);
  }

  /** Every partition of every subscribed topic that exists, by topic id. */
  private Map<Uuid, List<Integer>> assignmentOf(List<String> topics, List<String> streams) {
    Map<Uuid, List<Integer>> out = new TreeMap<>();
    for (String t : topics) {
      Optional<StreamConfig> c = config(t);
      if (c.isEmpty()) {
        continue;
      }
      List<Integer> ps = new ArrayList<>();
      for (int p = 0; p < c.get().partitions(); p++) {
        ps.add(p);
      }
      Uuid id = KafkaTopics.topicId(t);
      topicsById.put(id, t);
      out.put(id, ps);
      streams.add(t);
    }
    return out;
  }

  private Optional<StreamConfig> config(String topic) {
    if (!KafkaTopics.isStreamName(topic)) {
      return Optional.empty();
    }
    try {
      return Optional.of(broker.streamConfig(topic));
    } catch (SwitchboardException e) {
      return Optional.empty();
    }
  }

  private Optional<String> streamOf(Uuid id) {
    String known = topicsById.get(id);
    if (known != null && config(known).isPresent()) {
      return Optional.of(known);
    }
    for (StreamConfig c : broker.streamConfigs()) {
      if (KafkaTopics.topicId(c.name()).equals(id)) {
        topicsById.put(id, c.name());
        return Optional.of(c.name());
      }
    }
    return Optional.empty();
  }

  /** Makes the group's consumer on each stream, where missing. */
  private CompletableFuture<Void> ensureConsumers(
      String group, List<String> streams, Executor loop) {
    String name = consumerName(group);
    List<String> missing =
        streams.stream().filter(s -> !consumerLocks.containsKey(s + "/" + name)).toList();
    if (missing.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    Settings own = settingsOf(group);
    ConsumerConfig config =
        ConsumerConfig.builder(name)
            .mode(DeliveryMode.SHARED)
            .startAt(own.fromEarliest() ? StartPosition.EARLIEST : StartPosition.LATEST)
            .ackTimeoutMs(own.lockDurationMs())
            .maxDeliver(own.deliveryCountLimit())
            .maxAckPending(own.recordLocks())
            .build();
    return broker
        .offload(
            () -> {
              for (String s : missing) {
                try {
                  broker.createOwnedConsumer(s, config);
                } catch (SwitchboardException e) {
                  if (e.code() != ErrorCode.CONSUMER_EXISTS) {
                    throw e;
                  }
                }
                // The consumer may be older than the group's settings: its own lock counts.
                consumerLocks.put(
                    s + "/" + name, broker.consumerInfo(s, name).config().ackTimeoutMs());
              }
              return (Void) null;
            },
            loop)
        .exceptionally(
            e -> {
              LOG.warn("share group {}: its consumers could not be made", group, e);
              return null;
            });
  }

  /** A member left or timed out: what it held acquired goes back at once, its session ends. */
  private void release(String group, String member, List<String> topics) {
    Session s;
    synchronized (this) {
      s = sessions.remove(key(group, member));
    }
    Set<String> streams = new LinkedHashSet<>(topics);
    if (s != null) {
      for (Part p : s.parts) {
        streamOf(p.topicId()).ifPresent(streams::add);
      }
    }
    String name = consumerName(group);
    for (String stream : streams) {
      broker.leave(stream, name, member);
    }
  }

  private void tick() {
    long now = clock.getAsLong();
    List<String[]> expired = new ArrayList<>();
    List<List<String>> topics = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Group> gi = groups.values().iterator(); gi.hasNext(); ) {
        Group g = gi.next();
        for (Iterator<Member> mi = g.members.values().iterator(); mi.hasNext(); ) {
          Member m = mi.next();
          if (now - m.lastHeartbeatMs > settings.sessionTimeoutMs()) {
            mi.remove();
            g.epoch++;
            expired.add(new String[] {g.id, m.id});
            topics.add(m.topics);
          }
        }
        if (g.members.isEmpty()) {
          gi.remove();
        }
      }
    }
    List<Session> idle = new ArrayList<>();
    synchronized (this) {
      for (Session s : sessions.values()) {
        if (now - s.lastUsedMs > settings.sessionTimeoutMs() && !inGroup(s.group, s.member)) {
          idle.add(s);
        }
      }
    }
    for (Session s : idle) {
      LOG.info("share group {}: closing the idle share session of {}", s.group, s.member);
      closeSession(s);
    }
    for (int i = 0; i < expired.size(); i++) {
      LOG.info(
          "share group {}: member {} timed out; its records go back",
          expired.get(i)[0],
          expired.get(i)[1]);
      release(expired.get(i)[0], expired.get(i)[1], topics.get(i));
    }
  }

  /** Whether {@code member} is in {@code group} now; under the monitor. */
  private boolean inGroup(String group, String member) {
    Group g = groups.get(group);
    return g != null && g.members.containsKey(member);
  }

  // ------------------------------------------------------------------ group configurations

  /** Kafka's group configurations a share group may set, and the server settings they replace. */
  static final String GROUP_AUTO_OFFSET_RESET = "share.auto.offset.reset";

  static final String GROUP_LOCK_DURATION_MS = "share.record.lock.duration.ms";
  static final String GROUP_DELIVERY_COUNT_LIMIT = "share.delivery.count.limit";

  /** Kafka's resource type of a group, and the operations of IncrementalAlterConfigs. */
  static final byte GROUP_RESOURCE = 32;

  static final byte SET = 0;
  static final byte DELETE = 1;

  /** The settings {@code group} reads with: the server's, with the group's own over them. */
  synchronized Settings settingsOf(String group) {
    TreeMap<String, String> own = group == null ? null : groupConfigs.get(group);
    if (own == null) {
      return settings;
    }
    return new Settings(
        own.containsKey(GROUP_LOCK_DURATION_MS)
            ? Long.parseLong(own.get(GROUP_LOCK_DURATION_MS))
            : settings.lockDurationMs(),
        own.containsKey(GROUP_DELIVERY_COUNT_LIMIT)
            ? Integer.parseInt(own.get(GROUP_DELIVERY_COUNT_LIMIT))
            : settings.deliveryCountLimit(),
        own.containsKey(GROUP_AUTO_OFFSET_RESET)
            ? own.get(GROUP_AUTO_OFFSET_RESET).equals("earliest")
            : settings.fromEarliest(),
        settings.heartbeatIntervalMs(),
        settings.sessionTimeoutMs(),
        settings.recordLocks());
  }

  /** The lock duration of the group's consumer on {@code stream}: the one it was made with. */
  private long lockOf(String stream, String group) {
    Long known = consumerLocks.get(stream + "/" + consumerName(group));
    return known != null ? known : settingsOf(group).lockDurationMs();
  }

  /** Why {@code value} is not a legal value of group configuration {@code name}, or null. */
  static String invalid(String name, String value) {
    if (value == null) {
      return name + " needs a value";
    }
    switch (name) {
      case GROUP_AUTO_OFFSET_RESET -> {
        return value.equals("earliest") || value.equals("latest")
            ? null
            : name + " is earliest or latest (by_duration is not served), not " + value;
      }
      case GROUP_LOCK_DURATION_MS -> {
        return inRange(name, value, 1_000, 3_600_000);
      }
      case GROUP_DELIVERY_COUNT_LIMIT -> {
        return inRange(name, value, 2, 10);
      }
      default -> {
        return "group configuration "
            + name
            + " is not served; a share group takes "
            + GROUP_AUTO_OFFSET_RESET
            + ", "
            + GROUP_LOCK_DURATION_MS
            + " and "
            + GROUP_DELIVERY_COUNT_LIMIT;
      }
    }
  }

  private static String inRange(String name, String value, long min, long max) {
    try {
      long v = Long.parseLong(value.trim());
      return v >= min && v <= max ? null : name + " must be in [" + min + ", " + max + "]";
    } catch (NumberFormatException e) {
      return name + " must be a number, not " + value;
    }
  }

  /**
   * IncrementalAlterConfigs of share groups' configurations (resource type group): SET and DELETE
   * of {@link #GROUP_AUTO_OFFSET_RESET}, {@link #GROUP_LOCK_DURATION_MS} and {@link
   * #GROUP_DELIVERY_COUNT_LIMIT}, each resource all or nothing, kept on disk before the answer.
   * They apply to the topics a group starts reading afterwards (its consumer on a topic is made
   * with them); {@code mayAlter}: whether the connection may ({@code admin} on {@code $streams}).
   */
  CompletableFuture<ApiMessage> alterConfigs(
      org.apache.kafka.common.message.IncrementalAlterConfigsRequestData req,
      boolean mayAlter,
      Executor loop) {
    var out = new org.apache.kafka.common.message.IncrementalAlterConfigsResponseData();
    boolean changed = false;
    List<
            org.apache.kafka.common.message.IncrementalAlterConfigsResponseData
                .AlterConfigsResourceResponse>
        applied = new ArrayList<>();
    synchronized (this) {
      for (var r : req.resources()) {
        var answer =
            new org.apache.kafka.common.message.IncrementalAlterConfigsResponseData
                    .AlterConfigsResourceResponse()
                .setResourceType(r.resourceType())
                .setResourceName(r.resourceName());
        out.responses().add(answer);
        if (r.resourceType() != GROUP_RESOURCE) {
          answer
              .setErrorCode(Errors.INVALID_REQUEST.code())
              .setErrorMessage(
                  "only share groups' configurations (resource type group) are altered here;"
                      + " a topic's configuration is set when it is made");
          continue;
        }
        if (!mayAlter) {
          answer
              .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code())
              .setErrorMessage("altering group configurations needs admin on $streams");
          continue;
        }
        if (r.resourceName() == null || r.resourceName().isEmpty()) {
          answer.setErrorCode(Errors.INVALID_GROUP_ID.code()).setErrorMessage("no group named");
          continue;
        }
        TreeMap<String, String> next =
            new TreeMap<>(groupConfigs.getOrDefault(r.resourceName(), new TreeMap<>()));
        String problem = null;
        for (var c : r.configs()) {
          if (c.configOperation() == SET) {
            problem = invalid(c.name(), c.value());
            if (problem == null) {
              next.put(c.name(), c.value().trim());
            }
          } else if (c.configOperation() == DELETE) {
            // Back to the server's setting; a name not served is refused as for SET.
            problem = invalid(c.name(), defaultOf(c.name()));
            next.remove(c.name());
          } else {
            problem = c.name() + ": only SET and DELETE apply to a share group's configuration";
          }
          if (problem != null) {
            break;
          }
        }
        if (problem != null) {
          answer.setErrorCode(Errors.INVALID_CONFIG.code()).setErrorMessage(problem);
          continue;
        }
        if (!groupConfigs.containsKey(r.resourceName())
            && !next.isEmpty()
            && groupConfigs.size() >= MAX_GROUPS) {
          answer
              .setErrorCode(Errors.POLICY_VIOLATION.code())
              .setErrorMessage(MAX_GROUPS + " share groups have configurations already");
          continue;
        }
        if (!req.validateOnly()) {
          if (next.isEmpty()) {
            groupConfigs.remove(r.resourceName());
          } else {
            groupConfigs.put(r.resourceName(), next);
          }
          changed = true;
          applied.add(answer);
        }
      }
    }
    if (!changed) {
      return CompletableFuture.completedFuture(out);
    }
    return broker
        .offload(
            () -> {
              saveConfigs();
              return (Void) null;
            },
            loop)
        .handle(
            (v, e) -> {
              if (e != null) {
                LOG.error("share group configurations could not be written to {}", configFile, e);
                for (var a : applied) {
                  a.setErrorCode(Errors.KAFKA_STORAGE_ERROR.code())
                      .setErrorMessage("the configuration could not be stored: " + e.getMessage());
                }
              }
              return (ApiMessage) out;
            });
  }

  /** A legal value standing for a configuration's default, to check a DELETE's name with. */
  private static String defaultOf(String name) {
    return switch (name) {
      case GROUP_AUTO_OFFSET_RESET -> "latest";
      case GROUP_LOCK_DURATION_MS -> "30000";
      case GROUP_DELIVERY_COUNT_LIMIT -> "5";
      default -> "";
    };
  }

  /** Writes every group's configuration (a new file moved over the old one). Not on a loop. */
  private void saveConfigs() {
    java.util.Properties p = new java.util.Properties();
    synchronized (this) {
      groupConfigs.forEach(
          (g, m) -> m.forEach((name, value) -> p.setProperty(name + "|" + g, value)));
    }
    try {
      java.nio.file.Files.createDirectories(configFile.getParent());
      java.nio.file.Path tmp = configFile.resolveSibling("configs.properties.tmp");
      try (java.io.OutputStream o = java.nio.file.Files.newOutputStream(tmp)) {
        p.store(o, "Kafka share groups' configurations (IncrementalAlterConfigs)");
      }
      try (java.nio.channels.FileChannel ch =
          java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      java.nio.file.Files.move(
          tmp,
          configFile,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Reads the groups' configurations back at start; a value no longer legal is skipped. */
  private void loadConfigs() {
    if (!java.nio.file.Files.exists(configFile)) {
      return;
    }
    java.util.Properties p = new java.util.Properties();
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(configFile)) {
      p.load(in);
    } catch (java.io.IOException e) {
      LOG.error("share group configurations in {} could not be read", configFile, e);
      return;
    }
    synchronized (this) {
      for (String k : p.stringPropertyNames()) {
        int bar = k.indexOf('|');
        if (bar < 0 || invalid(k.substring(0, bar), p.getProperty(k)) != null) {
          LOG.warn("share group configuration {} in {} skipped", k, configFile);
          continue;
        }
        groupConfigs
            .computeIfAbsent(k.substring(bar + 1), g -> new TreeMap<>())
            .put(k.substring(0, bar), p.getProperty(k));
      }
    }
  }

  // ------------------------------------------------------------------ DescribeShareGroupOffsets

  /**
   * DescribeShareGroupOffsets (Admin's {@code listShareGroupOffsets}, {@code kafka-share-groups
   * --describe}): per partition the group's start offset — its consumer's ack floor, below which
   * everything is done — and, from version 1, the lag: the records from there to the end, an upper
   * bound (records acknowledged out of order above the floor are counted). Topics null: every topic
   * the group reads; a group that reads none and has no members is GROUP_ID_NOT_FOUND.
   */
  CompletableFuture<ApiMessage> describeOffsets(
      org.apache.kafka.common.message.DescribeShareGroupOffsetsRequestData req,
      BiPredicate<String, String> mayConsume) {
    var out = new org.apache.kafka.common.message.DescribeShareGroupOffsetsResponseData();
    for (var g : req.groups()) {
      var group =
          new org.apache.kafka.common.message.DescribeShareGroupOffsetsResponseData
                  .DescribeShareGroupOffsetsResponseGroup()
              .setGroupId(g.groupId());
      out.groups().add(group);
      if (g.groupId() == null || g.groupId().isEmpty()) {
        group.setErrorCode(Errors.INVALID_GROUP_ID.code()).setErrorMessage("no group named");
        continue;
      }
      String name = consumerName(g.groupId());
      Map<String, List<Integer>> asked = new LinkedHashMap<>();
      if (g.topics() == null) {
        for (StreamConfig c : broker.streamConfigs()) {
          if (hasConsumer(c.name(), name)) {
            List<Integer> ps = new ArrayList<>();
            for (int p = 0; p < c.partitions(); p++) {
              ps.add(p);
            }
            asked.put(c.name(), ps);
          }
        }
        boolean live;
        synchronized (this) {
          live = groups.containsKey(g.groupId());
        }
        if (asked.isEmpty() && !live) {
          group
              .setErrorCode(Errors.GROUP_ID_NOT_FOUND.code())
              .setErrorMessage("share group " + g.groupId() + " reads no topic");
          continue;
        }
      } else {
        for (var t : g.topics()) {
          asked.put(t.topicName(), t.partitions());
        }
      }
      asked.forEach(
          (topic, partitions) -> {
            var tr =
                new org.apache.kafka.common.message.DescribeShareGroupOffsetsResponseData
                        .DescribeShareGroupOffsetsResponseTopic()
                    .setTopicName(topic)
                    .setTopicId(KafkaTopics.topicId(topic));
            group.topics().add(tr);
            Optional<StreamConfig> c = config(topic);
            boolean allowed = c.isPresent() && mayConsume.test(topic, g.groupId());
            boolean reads = c.isPresent() && hasConsumer(topic, name);
            for (int p : partitions) {
              var pr =
                  new org.apache.kafka.common.message.DescribeShareGroupOffsetsResponseData
                          .DescribeShareGroupOffsetsResponsePartition()
                      .setPartitionIndex(p)
                      .setLeaderEpoch(KafkaApis.LEADER_EPOCH)
                      .setStartOffset(-1)
                      .setLag(-1);
              tr.partitions().add(pr);
              if (c.isEmpty() || p < 0 || p >= c.get().partitions()) {
                pr.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
              } else if (!allowed) {
                pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
              } else if (reads) {
                try {
                  long floor = broker.ackFloor(topic, name, p);
                  long end = broker.partitionBounds(topic, p).highWatermark();
                  pr.setStartOffset(floor).setLag(Math.max(0, end - floor));
                } catch (SwitchboardException e) {
                  pr.setErrorCode(KafkaErrors.of(e).code()).setErrorMessage(e.getMessage());
                }
              }
            }
          });
    }
    return CompletableFuture.completedFuture(out);
  }

  /** Whether the group consumer {@code name} exists on {@code stream}. */
  private boolean hasConsumer(String stream, String name) {
    if (consumerLocks.containsKey(stream + "/" + name)) {
      return true;
    }
    try {
      broker.consumerInfo(stream, name);
      return true;
    } catch (SwitchboardException e) {
      return false;
    }
  }

  /** Why an offsets change is refused. */
  private record Refusal(Errors error, String message) {}

  /**
   * Why a change of {@code group}'s offsets ({@code verb}: "deleting", "altering") is refused, or
   * null: the group is named, the caller has admin on {@code $streams}, and it has no members.
   */
  private synchronized Refusal refuseOffsetsChange(String group, boolean allowed, String verb) {
    if (group == null || group.isEmpty()) {
      return new Refusal(Errors.INVALID_REQUEST, "no group named");
    }
    if (!allowed) {
      return new Refusal(
          Errors.GROUP_AUTHORIZATION_FAILED,
          verb + " a share group's offsets needs admin on $streams");
    }
    if (groups.containsKey(group)) {
      return new Refusal(Errors.NON_EMPTY_GROUP, "share group " + group + " has members");
    }
    return null;
  }

  // ------------------------------------------------------------------ DeleteShareGroupOffsets

  /**
   * DeleteShareGroupOffsets (Admin's {@code deleteShareGroupOffsets}, {@code kafka-share-groups
   * --delete-offsets}): forgets where an empty group stands on each topic named — its consumer on
   * the topic is deleted, so the next member to read it starts as a new group does ({@code
   * share.auto.offset.reset}). {@code mayDelete}: admin on {@code $streams}.
   */
  CompletableFuture<ApiMessage> deleteOffsets(
      org.apache.kafka.common.message.DeleteShareGroupOffsetsRequestData req,
      boolean mayDelete,
      Executor loop) {
    var out = new org.apache.kafka.common.message.DeleteShareGroupOffsetsResponseData();
    String group = req.groupId();
    Refusal no = refuseOffsetsChange(group, mayDelete, "deleting");
    if (no != null) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(no.error().code()).setErrorMessage(no.message()));
    }
    String name = consumerName(group);
    List<String> delete = new ArrayList<>();
    for (var t : req.topics()) {
      var r =
          new org.apache.kafka.common.message.DeleteShareGroupOffsetsResponseData
                  .DeleteShareGroupOffsetsResponseTopic()
              .setTopicName(t.topicName())
              .setTopicId(KafkaTopics.topicId(t.topicName()));
      out.responses().add(r);
      if (config(t.topicName()).isEmpty()) {
        r.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
            .setErrorMessage("no topic " + t.topicName());
      } else {
        delete.add(t.topicName());
      }
    }
    if (delete.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    return broker
        .offload(
            () -> {
              Map<String, Errors> failed = new HashMap<>();
              for (String stream : delete) {
                consumerLocks.remove(stream + "/" + name);
                try {
                  broker.deleteOwnedConsumer(stream, name);
                } catch (SwitchboardException e) {
                  if (e.code() != ErrorCode.CONSUMER_NOT_FOUND) {
                    LOG.warn("share group {}: its consumer on {} not deleted", group, stream, e);
                    failed.put(stream, KafkaErrors.of(e));
                  }
                }
              }
              return failed;
            },
            loop)
        .handle(
            (failed, e) -> {
              for (var r : out.responses()) {
                Errors err =
                    e != null ? KafkaErrors.of(e) : failed.getOrDefault(r.topicName(), Errors.NONE);
                if (r.errorCode() == Errors.NONE.code() && err != Errors.NONE) {
                  r.setErrorCode(err.code()).setErrorMessage(err.message());
                }
              }
              return (ApiMessage) out;
            });
  }

  // ------------------------------------------------------------------ AlterShareGroupOffsets

  /**
   * AlterShareGroupOffsets (Admin's {@code alterShareGroupOffsets}, {@code kafka-share-groups
   * --reset-offsets}): where an empty group starts again on each topic named. A group's position on
   * a topic is its consumer's, made again whole: every partition is named, with one offset for all,
   * or each partition's earliest, or each one's latest (what {@code --to-earliest} and {@code
   * --to-latest} send); other mixes are INVALID_REQUEST. {@code mayAlter}: admin on {@code
   * $streams}.
   */
  CompletableFuture<ApiMessage> alterOffsets(
      org.apache.kafka.common.message.AlterShareGroupOffsetsRequestData req,
      boolean mayAlter,
      Executor loop) {
    var out = new org.apache.kafka.common.message.AlterShareGroupOffsetsResponseData();
    String group = req.groupId();
    Refusal no = refuseOffsetsChange(group, mayAlter, "altering");
    if (no != null) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(no.error().code()).setErrorMessage(no.message()));
    }
    String name = consumerName(group);
    Settings own = settingsOf(group);
    Map<String, ConsumerConfig> remake = new LinkedHashMap<>();
    for (var t : req.topics()) {
      var r =
          new org.apache.kafka.common.message.AlterShareGroupOffsetsResponseData
                  .AlterShareGroupOffsetsResponseTopic()
              .setTopicName(t.topicName())
              .setTopicId(KafkaTopics.topicId(t.topicName()));
      out.responses().add(r);
      Optional<StreamConfig> c = config(t.topicName());
      String problem = null;
      Errors error = Errors.INVALID_REQUEST;
      StartPosition start = null;
      long offset = 0;
      if (c.isEmpty()) {
        problem = "no topic " + t.topicName();
        error = Errors.UNKNOWN_TOPIC_OR_PARTITION;
      } else {
        Map<Integer, Long> asked = new TreeMap<>();
        for (var p : t.partitions()) {
          asked.put(p.partitionIndex(), p.startOffset());
        }
        boolean earliest = true;
        boolean latest = true;
        java.util.Set<Long> distinct = new java.util.HashSet<>(asked.values());
        for (int p = 0; p < c.get().partitions() && problem == null; p++) {
          Long o = asked.remove(p);
          if (o == null) {
            problem =
                "partition "
                    + p
                    + " is not named: a share group's position on a topic is reset whole";
            break;
          }
          io.switchboard.broker.PartitionBounds b = broker.partitionBounds(t.topicName(), p);
          if (o < b.logStartOffset() || o > b.highWatermark()) {
            problem =
                "offset "
                    + o
                    + " of partition "
                    + p
                    + " is outside ["
                    + b.logStartOffset()
                    + ", "
                    + b.highWatermark()
                    + "]";
            error = Errors.INVALID_REQUEST;
          }
          earliest &= o == b.logStartOffset();
          latest &= o == b.highWatermark();
        }
        if (problem == null && !asked.isEmpty()) {
          problem = "the topic has no partition " + asked.keySet().iterator().next();
          error = Errors.UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (problem == null) {
          if (earliest) {
            start = StartPosition.EARLIEST;
          } else if (latest) {
            start = StartPosition.LATEST;
          } else if (distinct.size() == 1) {
            start = StartPosition.OFFSET;
            offset = distinct.iterator().next();
          } else {
            problem =
                "different offsets per partition: one offset for every partition, or each one's"
                    + " earliest or latest";
          }
        }
      }
      for (var p : t.partitions()) {
        var pr =
            new org.apache.kafka.common.message.AlterShareGroupOffsetsResponseData
                    .AlterShareGroupOffsetsResponsePartition()
                .setPartitionIndex(p.partitionIndex());
        if (problem != null) {
          pr.setErrorCode(error.code()).setErrorMessage(problem);
        }
        r.partitions().add(pr);
      }
      if (problem == null) {
        ConsumerConfig.Builder b =
            ConsumerConfig.builder(name)
                .mode(DeliveryMode.SHARED)
                .ackTimeoutMs(own.lockDurationMs())
                .maxDeliver(own.deliveryCountLimit())
                .maxAckPending(own.recordLocks());
        if (start == StartPosition.OFFSET) {
          b.startOffset(offset);
        } else {
          b.startAt(start);
        }
        remake.put(t.topicName(), b.build());
      }
    }
    if (remake.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    return broker
        .offload(
            () -> {
              Map<String, Errors> failed = new HashMap<>();
              remake.forEach(
                  (stream, config) -> {
                    consumerLocks.remove(stream + "/" + name);
                    try {
                      try {
                        broker.deleteOwnedConsumer(stream, name);
                      } catch (SwitchboardException e) {
                        if (e.code() != ErrorCode.CONSUMER_NOT_FOUND) {
                          throw e;
                        }
                      }
                      broker.createOwnedConsumer(stream, config);
                      consumerLocks.put(stream + "/" + name, config.ackTimeoutMs());
                    } catch (SwitchboardException e) {
                      LOG.warn("share group {}: its consumer on {} not reset", group, stream, e);
                      failed.put(stream, KafkaErrors.of(e));
                    }
                  });
              return failed;
            },
            loop)
        .handle(
            (failed, e) -> {
              for (var r : out.responses()) {
                if (!remake.containsKey(r.topicName())) {
                  continue;
                }
                Errors err =
                    e != null ? KafkaErrors.of(e) : failed.getOrDefault(r.topicName(), Errors.NONE);
                if (err != Errors.NONE) {
                  r.partitions()
                      .forEach(p -> p.setErrorCode(err.code()).setErrorMessage(err.message()));
                }
              }
              return (ApiMessage) out;
            });
  }

  // ------------------------------------------------------------------ ShareGroupDescribe

  CompletableFuture<ApiMessage> describe(ShareGroupDescribeRequestData req) {
    ShareGroupDescribeResponseData out = new ShareGroupDescribeResponseData();
    synchronized (this) {
      for (String id : req.groupIds()) {
        ShareGroupDescribeResponseData.DescribedGroup d =
            new ShareGroupDescribeResponseData.DescribedGroup().setGroupId(id);
        out.groups().add(d);
        Group g = groups.get(id);
        if (g == null) {
          d.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code())
              .setErrorMessage("no share group " + id + " has members")
              .setGroupState("Dead");
          continue;
        }
        d.setGroupState("Stable")
            .setGroupEpoch(g.epoch)
            .setAssignmentEpoch(g.epoch)
            .setAssignorName("simple");
        if (req.includeAuthorizedOperations()) {
          d.setAuthorizedOperations(0);
        }
        for (Member m : g.members.values()) {
          ShareGroupDescribeResponseData.Assignment a =
              new ShareGroupDescribeResponseData.Assignment();
          if (m.sent != null) {
            m.sent.forEach(
                (tid, ps) ->
                    a.topicPartitions()
                        .add(
                            new ShareGroupDescribeResponseData.TopicPartitions()
                                .setTopicId(tid)
                                .setTopicName(topicsById.getOrDefault(tid, ""))
                                .setPartitions(new ArrayList<>(ps))));
          }
          d.members()
              .add(
                  new ShareGroupDescribeResponseData.Member()
                      .setMemberId(m.id)
                      .setRackId(m.rack)
                      .setMemberEpoch(m.epoch)
                      .setClientId(m.client == null ? "" : m.client.clientId())
                      .setClientHost(m.client == null ? "" : m.client.host())
                      .setSubscribedTopicNames(new ArrayList<>(m.topics))
                      .setAssignment(a));
        }
      }
    }
    return CompletableFuture.completedFuture(out);
  }

  /** The share groups with members, for ListGroups. */
  synchronized List<String> groupIds() {
    return new ArrayList<>(groups.keySet());
  }

  // ------------------------------------------------------------------ sessions

  /** The outcome of checking a request against its share session. */
  private record Checked(Session session, Errors error, String message) {}

  /**
   * Checks and advances a request's share session: epoch 0 opens one (replacing any), -1 names the
   * one to close, any other epoch must be the session's next.
   */
  private Checked session(String group, String member, int epoch, boolean mayOpen) {
    Checked c = checkSession(group, member, epoch, mayOpen);
    if (c.session() != null) {
      c.session().lastUsedMs = clock.getAsLong();
    }
    return c;
  }

  private Checked checkSession(String group, String member, int epoch, boolean mayOpen) {
    String k = key(group, member);
    Session s = sessions.get(k);
    if (epoch == INITIAL_EPOCH) {
      if (!mayOpen) {
        return new Checked(
            null, Errors.INVALID_SHARE_SESSION_EPOCH, "a share session is opened by ShareFetch");
      }
      if (s == null && sessions.size() >= MAX_SESSIONS) {
        return new Checked(
            null, Errors.SHARE_SESSION_LIMIT_REACHED, MAX_SESSIONS + " share sessions are open");
      }
      Session fresh = new Session(group, member, s == null ? new Holdings() : s.holdings);
      sessions.put(k, fresh);
      return new Checked(fresh, Errors.NONE, null);
    }
    if (s == null) {
      return new Checked(
          null,
          Errors.SHARE_SESSION_NOT_FOUND,
          "no share session for member " + member + " of " + group);
    }
    if (epoch == FINAL_EPOCH) {
      return new Checked(s, Errors.NONE, null);
    }
    if (epoch != s.nextEpoch) {
      return new Checked(
          null,
          Errors.INVALID_SHARE_SESSION_EPOCH,
          "share session epoch " + epoch + ", expected " + s.nextEpoch);
    }
    s.nextEpoch = epoch == Integer.MAX_VALUE ? 1 : epoch + 1;
    return new Checked(s, Errors.NONE, null);
  }

  /** Ends a share session: the records its member holds go back for redelivery at once. */
  private void closeSession(Session s) {
    Set<String> streams = new LinkedHashSet<>();
    synchronized (this) {
      sessions.remove(key(s.group, s.member), s);
      for (Part p : s.parts) {
        streams.add(topicsById.getOrDefault(p.topicId(), ""));
      }
      for (Part p : s.holdings.locks.keySet()) {
        streams.add(topicsById.getOrDefault(p.topicId(), ""));
      }
    }
    streams.remove("");
    String name = consumerName(s.group);
    for (String stream : streams) {
      broker.leave(stream, name, s.member);
    }
  }

  // ------------------------------------------------------------------ acknowledgements

  /** One acknowledgement batch of a request. */
  private record AckBatch(long first, long last, List<Byte> types) {}

  /** The settlements one stream gets, and which partition each one answers for. */
  private static final class StreamSettle {
    final List<Settlement> entries = new ArrayList<>();
    final List<Part> parts = new ArrayList<>();
  }

  /**
   * Applies acknowledgements; completes with each partition's error (NONE when all of its went
   * through). Only records the member holds acquired are acknowledged; anything else is {@code
   * INVALID_RECORD_STATE} for its partition.
   */
  private CompletableFuture<Map<Part, Errors>> acknowledge(
      Session s, Map<Part, List<AckBatch>> acks, boolean renewAllowed, Executor loop) {
    Map<Part, Errors> result = new LinkedHashMap<>();
    if (acks.isEmpty()) {
      return CompletableFuture.completedFuture(result);
    }
    long now = clock.getAsLong();
    Map<String, StreamSettle> byStream = new LinkedHashMap<>();
    synchronized (this) {
      s.holdings.prune(now);
      for (Map.Entry<Part, List<AckBatch>> e : acks.entrySet()) {
        Part part = e.getKey();
        result.put(part, Errors.NONE);
        Optional<String> stream = streamOf(part.topicId());
        if (stream.isEmpty()) {
          result.put(part, Errors.UNKNOWN_TOPIC_ID);
          continue;
        }
        TreeMap<Long, Lock> held = s.holdings.locks.getOrDefault(part, new TreeMap<>());
        StreamSettle out = byStream.computeIfAbsent(stream.get(), k -> new StreamSettle());
        for (AckBatch b : e.getValue()) {
          Errors bad = check(b, renewAllowed);
          if (bad != Errors.NONE) {
            result.put(part, bad);
            continue;
          }
          if (b.types().size() == 1) {
            byte type = b.types().get(0);
            if (type == GAP) {
              continue;
            }
            NavigableMap<Long, Lock> range = held.subMap(b.first(), true, b.last(), true);
            if (range.size() != b.last() - b.first() + 1) {
              result.put(part, Errors.INVALID_RECORD_STATE);
            }
            for (Iterator<Map.Entry<Long, Lock>> it = range.entrySet().iterator(); it.hasNext(); ) {
              Map.Entry<Long, Lock> l = it.next();
              if (settle(out, part, l.getKey(), l.getValue(), type, now)) {
                it.remove();
              }
            }
          } else {
            for (int i = 0; i < b.types().size(); i++) {
              byte type = b.types().get(i);
              long offset = b.first() + i;
              if (type == GAP) {
                continue;
              }
              Lock l = held.get(offset);
              if (l == null) {
                result.put(part, Errors.INVALID_RECORD_STATE);
              } else if (settle(out, part, offset, l, type, now)) {
                held.remove(offset);
              }
            }
          }
        }
      }
    }
    String name = consumerName(s.group);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    byStream.forEach(
        (stream, st) -> {
          if (st.entries.isEmpty()) {
            return;
          }
          all.add(
              broker
                  .settle(stream, name, st.entries, loop)
                  .handle(
                      (oks, err) -> {
                        for (int i = 0; i < st.parts.size(); i++) {
                          Part p = st.parts.get(i);
                          if (err != null) {
                            result.put(p, KafkaErrors.of(err));
                          } else if (!oks.get(i) && result.get(p) == Errors.NONE) {
                            result.put(p, Errors.INVALID_RECORD_STATE);
                          }
                        }
                        return null;
                      }));
        });
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> result);
  }

  private static Errors check(AckBatch b, boolean renewAllowed) {
    if (b.last() < b.first() || b.first() < 0 || b.types().isEmpty()) {
      return Errors.INVALID_REQUEST;
    }
    if (b.types().size() != 1 && b.types().size() != b.last() - b.first() + 1) {
      return Errors.INVALID_REQUEST; // one type for the range, or one per offset
    }
    for (byte t : b.types()) {
      if (t < GAP || t > (renewAllowed ? RENEW : REJECT)) {
        return Errors.INVALID_REQUEST;
      }
    }
    return Errors.NONE;
  }

  /** Adds one record's settlement; true when the member no longer holds it afterwards. */
  private boolean settle(StreamSettle out, Part part, long offset, Lock l, byte type, long now) {
    int p = part.partition();
    switch (type) {
      case ACCEPT, REJECT -> out.entries.add(Settlement.ack(p, offset));
      case RELEASE ->
          out.entries.add(
              Settlement.nack(p, offset, l.deliveryCount, 0, "released by a Kafka share consumer"));
      case RENEW -> {
        out.entries.add(Settlement.inProgress(p, offset, l.deliveryCount));
        l.untilMs = now + l.lockMs;
        out.parts.add(part);
        return false;
      }
      default -> throw new IllegalStateException("checked before: " + type);
    }
    out.parts.add(part);
    return true;
  }

  // ------------------------------------------------------------------ ShareAcknowledge

  CompletableFuture<ApiMessage> acknowledge(
      ShareAcknowledgeRequestData req, short version, Executor loop) {
    ShareAcknowledgeResponseData out = new ShareAcknowledgeResponseData();
    if (version >= 2) {
      out.setAcquisitionLockTimeoutMs((int) settingsOf(req.groupId()).lockDurationMs());
    }
    if (req.groupId() == null
        || req.groupId().isEmpty()
        || req.memberId() == null
        || req.memberId().isEmpty()) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(Errors.INVALID_REQUEST.code())
              .setErrorMessage("a share acknowledgement names its group and member"));
    }
    Checked c;
    synchronized (this) {
      c = session(req.groupId(), req.memberId(), req.shareSessionEpoch(), false);
    }
    if (c.error() != Errors.NONE) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(c.error().code()).setErrorMessage(c.message()));
    }
    Map<Part, List<AckBatch>> acks = new LinkedHashMap<>();
    for (ShareAcknowledgeRequestData.AcknowledgeTopic t : req.topics()) {
      for (ShareAcknowledgeRequestData.AcknowledgePartition p : t.partitions()) {
        List<AckBatch> batches =
            acks.computeIfAbsent(new Part(t.topicId(), p.partitionIndex()), k -> new ArrayList<>());
        for (ShareAcknowledgeRequestData.AcknowledgementBatch b : p.acknowledgementBatches()) {
          batches.add(new AckBatch(b.firstOffset(), b.lastOffset(), b.acknowledgeTypes()));
        }
      }
    }
    Session s = c.session();
    return acknowledge(s, acks, version >= 2, loop)
        .thenApply(
            results -> {
              if (req.shareSessionEpoch() == FINAL_EPOCH) {
                closeSession(s);
              }
              Map<Uuid, ShareAcknowledgeResponseData.ShareAcknowledgeTopicResponse> topics =
                  new LinkedHashMap<>();
              results.forEach(
                  (part, err) ->
                      topics
                          .computeIfAbsent(
                              part.topicId(),
                              id -> {
                                var tr =
                                    new ShareAcknowledgeResponseData.ShareAcknowledgeTopicResponse()
                                        .setTopicId(id);
                                out.responses().add(tr);
                                return tr;
                              })
                          .partitions()
                          .add(
                              new ShareAcknowledgeResponseData.PartitionData()
                                  .setPartitionIndex(part.partition())
                                  .setErrorCode(err.code())
                                  .setCurrentLeader(
                                      new ShareAcknowledgeResponseData.LeaderIdAndEpoch()
                                          .setLeaderId(KafkaApis.NODE_ID)
                                          .setLeaderEpoch(KafkaApis.LEADER_EPOCH))));
              return (ApiMessage) out;
            });
  }

  // ------------------------------------------------------------------ ShareFetch

  CompletableFuture<ApiMessage> fetch(
      ShareFetchRequestData req,
      short version,
      BiPredicate<String, String> mayConsume,
      Executor loop) {
    ShareFetchResponseData out =
        new ShareFetchResponseData()
            .setAcquisitionLockTimeoutMs((int) settingsOf(req.groupId()).lockDurationMs());
    String group = req.groupId();
    if (group == null || group.isEmpty() || req.memberId() == null || req.memberId().isEmpty()) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(Errors.INVALID_REQUEST.code())
              .setErrorMessage("a share fetch names its group and member"));
    }
    Map<Part, List<AckBatch>> acks = new LinkedHashMap<>();
    for (ShareFetchRequestData.FetchTopic t : req.topics()) {
      for (ShareFetchRequestData.FetchPartition p : t.partitions()) {
        for (ShareFetchRequestData.AcknowledgementBatch b : p.acknowledgementBatches()) {
          acks.computeIfAbsent(new Part(t.topicId(), p.partitionIndex()), k -> new ArrayList<>())
              .add(new AckBatch(b.firstOffset(), b.lastOffset(), b.acknowledgeTypes()));
        }
      }
    }
    int epoch = req.shareSessionEpoch();
    if (epoch == INITIAL_EPOCH && !acks.isEmpty()) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(Errors.INVALID_REQUEST.code())
              .setErrorMessage("acknowledgements in the request that opens a share session"));
    }
    Checked c;
    Map<Part, Errors> partErrors = new LinkedHashMap<>();
    Map<String, Set<Integer>> toRead = new LinkedHashMap<>();
    synchronized (this) {
      c = session(group, req.memberId(), epoch, true);
      if (c.error() == Errors.NONE && epoch != FINAL_EPOCH) {
        Session s = c.session();
        for (ShareFetchRequestData.ForgottenTopic f : req.forgottenTopicsData()) {
          for (int p : f.partitions()) {
            s.parts.remove(new Part(f.topicId(), p));
          }
        }
        for (ShareFetchRequestData.FetchTopic t : req.topics()) {
          for (ShareFetchRequestData.FetchPartition p : t.partitions()) {
            if (s.parts.size() < MAX_TOPICS * 64) {
              s.parts.add(new Part(t.topicId(), p.partitionIndex()));
            }
          }
        }
        for (Part part : s.parts) {
          Optional<String> stream = streamOf(part.topicId());
          if (stream.isEmpty()) {
            partErrors.put(part, Errors.UNKNOWN_TOPIC_ID);
          } else if (part.partition() < 0
              || part.partition() >= config(stream.get()).map(StreamConfig::partitions).orElse(0)) {
            partErrors.put(part, Errors.UNKNOWN_TOPIC_OR_PARTITION);
          } else if (!mayConsume.test(stream.get(), group)) {
            partErrors.put(part, Errors.TOPIC_AUTHORIZATION_FAILED);
          } else {
            toRead.computeIfAbsent(stream.get(), k -> new TreeSet<>()).add(part.partition());
          }
        }
      }
    }
    if (c.error() != Errors.NONE) {
      return CompletableFuture.completedFuture(
          out.setErrorCode(c.error().code()).setErrorMessage(c.message()));
    }
    Session s = c.session();
    boolean fetching = epoch != FINAL_EPOCH && !req.isRenewAck() && !toRead.isEmpty();
    // Locks are counted from before the read: the broker's ack deadline of a record delivered by
    // it is never earlier, so an acknowledgement this side takes is never one the broker has
    // already given to another member.
    long lockedFrom = clock.getAsLong();
    int asked = Math.min(MAX_FETCH_RECORDS, req.maxRecords() > 0 ? req.maxRecords() : 500);
    // Acquire mode record_limit (ShareFetch v2) bounds the whole answer: split over the topics.
    int max =
        req.shareAcquireMode() == RECORD_LIMIT && toRead.size() > 1
            ? Math.max(1, asked / toRead.size())
            : asked;
    long waitMs = Math.min(MAX_WAIT_MS, Math.max(0, req.maxWaitMs()));
    return acknowledge(s, acks, version >= 2, loop)
        .thenCompose(
            ackResults -> {
              if (epoch == FINAL_EPOCH) {
                closeSession(s);
              }
              Map<String, Errors> failures = new ConcurrentHashMap<>();
              CompletableFuture<Map<String, List<Delivery>>> read =
                  fetching
                      ? read(
                          group,
                          s.member,
                          toRead,
                          max,
                          waitMs,
                          clock.getAsLong() + waitMs,
                          failures,
                          loop)
                      : CompletableFuture.completedFuture(Map.of());
              return read.thenCompose(
                  got -> {
                    // A topic whose read failed says so on each of its partitions.
                    failures.forEach(
                        (stream, err) -> {
                          for (int p : toRead.getOrDefault(stream, Set.of())) {
                            partErrors.put(new Part(KafkaTopics.topicId(stream), p), err);
                          }
                        });
                    return answer(out, s, toRead, got, partErrors, ackResults, lockedFrom, loop);
                  });
            });
  }

  /**
   * Reads the session's streams: one long poll when it reads one stream; with several, rounds of
   * short waits on all of them until one has records or the wait is over (a record is never
   * acquired and then left out of the answer: every read of a round is waited for).
   */
  private CompletableFuture<Map<String, List<Delivery>>> read(
      String group,
      String member,
      Map<String, Set<Integer>> streams,
      int max,
      long waitMs,
      long deadlineMs,
      Map<String, Errors> failures,
      Executor loop) {
    String name = consumerName(group);
    long wait = streams.size() == 1 ? waitMs : Math.min(waitMs, WAIT_SLICE_MS);
    Map<String, CompletableFuture<List<Delivery>>> reads = new LinkedHashMap<>();
    for (String stream : streams.keySet()) {
      reads.put(stream, readOne(group, stream, name, member, max, wait, failures, loop));
    }
    return CompletableFuture.allOf(reads.values().toArray(CompletableFuture[]::new))
        .thenCompose(
            v -> {
              Map<String, List<Delivery>> got = new LinkedHashMap<>();
              boolean any = false;
              for (Map.Entry<String, CompletableFuture<List<Delivery>>> e : reads.entrySet()) {
                List<Delivery> d = e.getValue().join();
                got.put(e.getKey(), d);
                any |= !d.isEmpty();
              }
              long left = deadlineMs - clock.getAsLong();
              if (any || left <= 0 || streams.size() == 1) {
                return CompletableFuture.completedFuture(got);
              }
              return read(group, member, streams, max, left, deadlineMs, failures, loop);
            });
  }

  private CompletableFuture<List<Delivery>> readOne(
      String group,
      String stream,
      String name,
      String member,
      int max,
      long wait,
      Map<String, Errors> failures,
      Executor loop) {
    return ensureConsumers(group, List.of(stream), loop)
        .thenCompose(v -> broker.fetch(stream, name, member, max, wait, loop))
        .handle(
            (got, e) -> {
              if (e == null) {
                return CompletableFuture.completedFuture(got);
              }
              Throwable cause = unwrap(e);
              if (cause instanceof SwitchboardException se
                  && se.code() == ErrorCode.CONSUMER_NOT_FOUND) {
                // Gone with its stream (deleted, maybe made again): made afresh, read once more.
                consumerLocks.remove(stream + "/" + name);
                return ensureConsumers(group, List.of(stream), loop)
                    .thenCompose(v -> broker.fetch(stream, name, member, max, wait, loop));
              }
              return CompletableFuture.<List<Delivery>>failedFuture(cause);
            })
        .thenCompose(f -> f)
        .exceptionally(
            e -> {
              Throwable cause = unwrap(e);
              LOG.debug("share fetch of {} for {} failed", stream, group, cause);
              failures.put(stream, KafkaErrors.of(cause));
              return List.of();
            });
  }

  private static Throwable unwrap(Throwable e) {
    while (e instanceof java.util.concurrent.CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** Builds the answer: each partition's acquired records, acknowledgement results and errors. */
  private CompletableFuture<ApiMessage> answer(
      ShareFetchResponseData out,
      Session s,
      Map<String, Set<Integer>> asked,
      Map<String, List<Delivery>> got,
      Map<Part, Errors> partErrors,
      Map<Part, Errors> ackResults,
      long lockedFrom,
      Executor loop) {
    Map<Part, ShareFetchResponseData.PartitionData> parts = new LinkedHashMap<>();
    List<Delivery> strays = new ArrayList<>();
    synchronized (this) {
      s.holdings.prune(clock.getAsLong());
      for (Map.Entry<String, List<Delivery>> e : got.entrySet()) {
        Uuid id = KafkaTopics.topicId(e.getKey());
        Set<Integer> wanted = asked.getOrDefault(e.getKey(), Set.of());
        Map<Integer, List<Delivery>> byPartition = new TreeMap<>();
        for (Delivery d : e.getValue()) {
          if (wanted.contains(d.partition())) {
            byPartition.computeIfAbsent(d.partition(), k -> new ArrayList<>()).add(d);
          } else {
            strays.add(d);
          }
        }
        byPartition.forEach(
            (p, ds) -> {
              ds.sort((a, b) -> Long.compare(a.offset(), b.offset()));
              Part part = new Part(id, p);
              long lockMs = lockOf(e.getKey(), s.group);
              TreeMap<Long, Lock> held =
                  s.holdings.locks.computeIfAbsent(part, k -> new TreeMap<>());
              for (Delivery d : ds) {
                held.put(d.offset(), new Lock(d.deliveryCount(), lockMs, lockedFrom + lockMs));
              }
              ShareFetchResponseData.PartitionData pd = partition(parts, part);
              pd.setRecords(records(ds));
              ShareFetchResponseData.AcquiredRecords run = null;
              for (Delivery d : ds) {
                if (run != null
                    && run.lastOffset() + 1 == d.offset()
                    && run.deliveryCount() == d.deliveryCount()) {
                  run.setLastOffset(d.offset());
                } else {
                  run =
                      new ShareFetchResponseData.AcquiredRecords()
                          .setFirstOffset(d.offset())
                          .setLastOffset(d.offset())
                          .setDeliveryCount((short) Math.min(Short.MAX_VALUE, d.deliveryCount()));
                  pd.acquiredRecords().add(run);
                }
              }
            });
      }
    }
    partErrors.forEach(
        (part, err) ->
            partition(parts, part).setErrorCode(err.code()).setErrorMessage(err.message()));
    ackResults.forEach((part, err) -> partition(parts, part).setAcknowledgeErrorCode(err.code()));
    Map<Uuid, ShareFetchResponseData.ShareFetchableTopicResponse> topics = new LinkedHashMap<>();
    parts.forEach(
        (part, pd) ->
            topics
                .computeIfAbsent(
                    part.topicId(),
                    id -> {
                      var tr =
                          new ShareFetchResponseData.ShareFetchableTopicResponse().setTopicId(id);
                      out.responses().add(tr);
                      return tr;
                    })
                .partitions()
                .add(pd));
    if (strays.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    // Records of partitions the session does not read (it changed while the fetch waited) go back.
    Map<String, List<Settlement>> back = new LinkedHashMap<>();
    for (Delivery d : strays) {
      back.computeIfAbsent(d.stream(), k -> new ArrayList<>())
          .add(Settlement.nack(d.partition(), d.offset(), d.deliveryCount(), 0, null));
    }
    List<CompletableFuture<?>> all = new ArrayList<>();
    back.forEach(
        (stream, list) ->
            all.add(
                broker
                    .settle(stream, consumerName(s.group), list, loop)
                    .exceptionally(e -> List.of())));
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> out);
  }

  private static ShareFetchResponseData.PartitionData partition(
      Map<Part, ShareFetchResponseData.PartitionData> parts, Part part) {
    return parts.computeIfAbsent(
        part,
        k ->
            new ShareFetchResponseData.PartitionData()
                .setPartitionIndex(k.partition())
                .setRecords(MemoryRecords.EMPTY)
                .setCurrentLeader(
                    new ShareFetchResponseData.LeaderIdAndEpoch()
                        .setLeaderId(KafkaApis.NODE_ID)
                        .setLeaderEpoch(KafkaApis.LEADER_EPOCH)));
  }

  /**
   * One partition's acquired records as one uncompressed batch, in offset order (a v2 batch may
   * skip offsets), each record as a Kafka fetch shows it: key, value, timestamp, headers and the
   * subject it was published on ({@code sb-subject}).
   */
  static MemoryRecords records(List<Delivery> ds) {
    int estimate = 128;
    for (Delivery d : ds) {
      Message m = d.message();
      estimate += 64 + m.payload().length + (m.key() == null ? 0 : m.key().length);
      estimate += m.subject().length() * 3 + 16;
      for (Header h : m.headers()) {
        estimate += h.key().length() * 3 + (h.value() == null ? 0 : h.value().length) + 8;
      }
    }
    MemoryRecordsBuilder b =
        MemoryRecords.builder(
            ByteBuffer.allocate(estimate),
            RecordBatch.CURRENT_MAGIC_VALUE,
            Compression.NONE,
            TimestampType.CREATE_TIME,
            ds.get(0).offset());
    for (Delivery d : ds) {
      Message m = d.message();
      List<Header> hs = m.headers();
      org.apache.kafka.common.header.Header[] headers =
          new org.apache.kafka.common.header.Header[hs.size() + 1];
      for (int i = 0; i < hs.size(); i++) {
        headers[i] = new RecordHeader(hs.get(i).key(), hs.get(i).value());
      }
      headers[hs.size()] =
          new RecordHeader(
              KafkaRecords.SUBJECT_HEADER, m.subject().getBytes(StandardCharsets.UTF_8));
      b.appendWithOffset(d.offset(), m.timestampMs(), m.key(), m.payload(), headers);
    }
    return b.build();
  }

  private static CompletableFuture<ApiMessage> done(
      ShareGroupHeartbeatResponseData out, Errors error, String message) {
    return CompletableFuture.completedFuture(
        out.setErrorCode(error.code()).setErrorMessage(message));
  }
}
