package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.message.ShareFetchResponseData;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kafka-clients 4.4's {@link KafkaShareConsumer} (KIP-932), unmodified, against a whole server on
 * loopback: share groups on Switchboard's work queues — records spread over members, explicit and
 * implicit acknowledgement, RELEASE redelivering with a rising delivery count, REJECT never
 * redelivering, and Admin describing the group.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaShareGroupsTest {
  static final int LOCK_MS = 2_000;

  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;
  final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                KafkaShareGroups.AUTO_OFFSET_RESET.name(),
                "earliest",
                KafkaShareGroups.RECORD_LOCK_DURATION_MS.name(),
                Integer.toString(LOCK_MS),
                KafkaShareGroups.HEARTBEAT_INTERVAL_MS.name(),
                "500"));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
  }

  @AfterEach
  void stop() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception e) {
        // closing what a test left open; the server goes next
      }
    }
    server.close();
  }

  Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    Admin a = Admin.create(p);
    open.add(a);
    return a;
  }

  void topic(String name, int partitions) throws Exception {
    admin().createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
  }

  void produce(String topic, int from, int count) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = from; i < from + count; i++) {
        producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
      }
      producer.flush();
    }
  }

  KafkaShareConsumer<String, String> shareConsumer(String group, String mode) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, mode);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 20);
    KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p);
    open.add(c);
    return c;
  }

  @Test
  void twoMembersShareATopicAndNoRecordGoesToBoth() throws Exception {
    topic("jobs", 3);
    produce("jobs", 0, 300);
    Map<String, String> takenBy = new ConcurrentHashMap<>();
    Set<String> doubles = ConcurrentHashMap.newKeySet();
    Map<String, Integer> counts = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    for (String name : List.of("a", "b")) {
      KafkaShareConsumer<String, String> c = shareConsumer("workers", "implicit");
      c.subscribe(List.of("jobs"));
      Thread t =
          new Thread(
              () -> {
                try {
                  while (!stop.get()) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                      if (takenBy.putIfAbsent(r.value(), name) != null) {
                        doubles.add(r.value());
                      }
                      counts.merge(name, 1, Integer::sum);
                      assertThat(r.deliveryCount()).contains((short) 1);
                      assertThat(r.headers().lastHeader("sb-subject")).isNotNull();
                    }
                  }
                  c.commitSync(); // the last poll's records, accepted
                } catch (Throwable e) {
                  failures.add(e);
                }
              },
              "share-" + name);
      threads.add(t);
      t.start();
    }
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> takenBy.size() == 300);
      // Both took part (each holds at most 20 at once, so one alone cannot hold them all) ...
      await().atMost(Duration.ofSeconds(10)).until(() -> counts.size() == 2);
    } finally {
      stop.set(true);
      for (Thread t : threads) {
        t.join(30_000);
      }
    }
    assertThat(failures).isEmpty();
    // ... and, every record accepted within its lock, none was delivered twice.
    assertThat(doubles).isEmpty();
    assertThat(counts.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(300);
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      expected.add("v" + i);
    }
    assertThat(takenBy.keySet()).isEqualTo(expected);
  }

  @Test
  void acceptedRecordsAreNotDeliveredAgainToANewMember() throws Exception {
    topic("once", 2);
    produce("once", 0, 50);
    Set<String> seen = new HashSet<>();
    try (KafkaShareConsumer<String, String> c = shareConsumer("g1", "explicit")) {
      c.subscribe(List.of("once"));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                  seen.add(r.value());
                  c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                c.commitSync();
                return seen.size() == 50;
              });
    }
    // A new member of the same group, past every lock: nothing is left to deliver.
    KafkaShareConsumer<String, String> next = shareConsumer("g1", "implicit");
    next.subscribe(List.of("once"));
    long until = System.currentTimeMillis() + LOCK_MS * 2L;
    while (System.currentTimeMillis() < until) {
      assertThat(next.poll(Duration.ofMillis(300)).count()).isZero();
    }
    // A record produced now reaches it.
    produce("once", 50, 1);
    List<String> got = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> {
              next.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
              return !got.isEmpty();
            });
    assertThat(got).containsExactly("v50");
  }

  @Test
  void releaseRedeliversWithARisingDeliveryCount() throws Exception {
    topic("retry", 1);
    produce("retry", 0, 1);
    KafkaShareConsumer<String, String> c = shareConsumer("g2", "explicit");
    c.subscribe(List.of("retry"));
    List<Short> counts = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      ConsumerRecord<String, String> r = pollOne(c);
      assertThat(r.value()).isEqualTo("v0");
      counts.add(r.deliveryCount().orElseThrow());
      c.acknowledge(r, round < 2 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT);
      assertThat(c.commitSync().values()).allMatch(java.util.Optional::isEmpty);
    }
    assertThat(counts).containsExactly((short) 1, (short) 2, (short) 3);
    // Accepted at the third delivery: never again, not even after the lock would have passed.
    long until = System.currentTimeMillis() + LOCK_MS * 2L;
    while (System.currentTimeMillis() < until) {
      assertThat(c.poll(Duration.ofMillis(300)).count()).isZero();
    }
  }

  @Test
  void rejectedRecordsAreNeverRedelivered() throws Exception {
    topic("poison", 1);
    produce("poison", 0, 2);
    KafkaShareConsumer<String, String> c = shareConsumer("g3", "explicit");
    c.subscribe(List.of("poison"));
    Map<String, ConsumerRecord<String, String>> got = new HashMap<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                got.put(r.value(), r);
                c.acknowledge(
                    r, r.value().equals("v0") ? AcknowledgeType.REJECT : AcknowledgeType.ACCEPT);
              }
              return got.size() == 2;
            });
    assertThat(c.commitSync().values()).allMatch(java.util.Optional::isEmpty);
    // Neither this member nor another one sees the rejected record again, past the lock.
    KafkaShareConsumer<String, String> other = shareConsumer("g3", "implicit");
    other.subscribe(List.of("poison"));
    long until = System.currentTimeMillis() + LOCK_MS * 2L;
    while (System.currentTimeMillis() < until) {
      assertThat(c.poll(Duration.ofMillis(200)).count()).isZero();
      assertThat(other.poll(Duration.ofMillis(200)).count()).isZero();
    }
  }

  @Test
  void recordsPastTheDeliveryCountLimitAreDropped() throws Exception {
    topic("limit", 1);
    produce("limit", 0, 1);
    KafkaShareConsumer<String, String> c = shareConsumer("g4", "explicit");
    c.subscribe(List.of("limit"));
    // Kafka's default limit is 5 deliveries: released five times, it is gone.
    for (int round = 1; round <= 5; round++) {
      ConsumerRecord<String, String> r = pollOne(c);
      assertThat(r.deliveryCount()).contains((short) round);
      c.acknowledge(r, AcknowledgeType.RELEASE);
      c.commitSync();
    }
    long until = System.currentTimeMillis() + LOCK_MS;
    while (System.currentTimeMillis() < until) {
      assertThat(c.poll(Duration.ofMillis(300)).count()).isZero();
    }
  }

  @Test
  void adminDescribesAShareGroupAndItsMembers() throws Exception {
    topic("described", 2);
    KafkaShareConsumer<String, String> a = shareConsumer("seen", "implicit");
    KafkaShareConsumer<String, String> b = shareConsumer("seen", "implicit");
    a.subscribe(List.of("described"));
    b.subscribe(List.of("described"));
    Admin admin = admin();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              a.poll(Duration.ofMillis(100));
              b.poll(Duration.ofMillis(100));
              ShareGroupDescription d =
                  admin.describeShareGroups(List.of("seen")).all().get().get("seen");
              return d.members().size() == 2
                  && d.members().stream()
                      .allMatch(m -> m.assignment().topicPartitions().size() == 2);
            });
    ShareGroupDescription d = admin.describeShareGroups(List.of("seen")).all().get().get("seen");
    assertThat(d.groupState()).isEqualTo(org.apache.kafka.common.GroupState.STABLE);
    assertThat(d.coordinator().id()).isEqualTo(KafkaApis.NODE_ID);
    // Listed as a share group, and only when share groups are asked for.
    assertThat(admin.listGroups(ListGroupsOptions.forShareGroups()).all().get())
        .anySatisfy(
            g -> {
              assertThat(g.groupId()).isEqualTo("seen");
              assertThat(g.type()).contains(GroupType.SHARE);
            });
    assertThat(admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get())
        .noneMatch(g -> g.groupId().equals("seen"));
  }

  @Test
  void aMemberThatDiesHoldingRecordsLosesThemToAnotherWhenTheLockRunsOut() throws Exception {
    topic("crash", 1);
    produce("crash", 0, 5);
    Uuid id = KafkaTopics.topicId("crash");
    long acquiredAt;
    try (ShareWire dead = new ShareWire(server.addresses().get("kafka").getPort())) {
      assertThat(dead.heartbeat("crashers", "dead-1", 0, List.of("crash")).errorCode()).isZero();
      ShareFetchResponseData f = dead.fetch("crashers", "dead-1", 0, id, 1, (short) 1);
      acquiredAt = System.currentTimeMillis();
      assertThat(f.errorCode()).isZero();
      ShareFetchResponseData.AcquiredRecords run =
          f.responses().find(id).partitions().get(0).acquiredRecords().get(0);
      assertThat(run.firstOffset()).isZero();
      assertThat(run.lastOffset()).isEqualTo(4);
    } // it vanishes: no acknowledgement, no leave, its connection gone
    KafkaShareConsumer<String, String> heir = shareConsumer("crashers", "implicit");
    heir.subscribe(List.of("crash"));
    Map<String, Short> got = new HashMap<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              for (ConsumerRecord<String, String> r : heir.poll(Duration.ofMillis(200))) {
                got.put(r.value(), r.deliveryCount().orElseThrow());
              }
              return got.size() == 5;
            });
    long waited = System.currentTimeMillis() - acquiredAt;
    // Not before the dead member's lock ran out, and as second deliveries.
    assertThat(waited).isGreaterThanOrEqualTo(LOCK_MS - 250);
    assertThat(got).containsOnlyKeys("v0", "v1", "v2", "v3", "v4");
    assertThat(got.values()).containsOnly((short) 2);
  }

  @Test
  void oneMemberReadsTwoTopicsWithinTheRecordLimit() throws Exception {
    topic("left", 2);
    topic("right", 1);
    produce("left", 0, 10);
    produce("right", 100, 10);
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "both");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 4);
    KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p);
    open.add(c);
    c.subscribe(List.of("left", "right"));
    Map<String, String> got = new HashMap<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
              assertThat(rs.count()).isLessThanOrEqualTo(4);
              rs.forEach(r -> got.put(r.value(), r.topic()));
              return got.size() == 20;
            });
    assertThat(got.values().stream().filter("left"::equals).count()).isEqualTo(10);
    assertThat(got.values().stream().filter("right"::equals).count()).isEqualTo(10);
  }

  @Test
  void groupConfigurationsChooseWhereAGroupStartsAndItsLockAndOutliveARestart() throws Exception {
    Admin admin = admin();
    ConfigResource late = new ConfigResource(ConfigResource.Type.GROUP, "late");
    ConfigResource quick = new ConfigResource(ConfigResource.Type.GROUP, "quick");
    admin
        .incrementalAlterConfigs(
            Map.of(
                late,
                List.of(
                    new AlterConfigOp(
                        new ConfigEntry("share.auto.offset.reset", "latest"),
                        AlterConfigOp.OpType.SET)),
                quick,
                List.of(
                    new AlterConfigOp(
                        new ConfigEntry("share.record.lock.duration.ms", "1500"),
                        AlterConfigOp.OpType.SET))))
        .all()
        .get();
    // Bad input: a value not legal, a configuration not served, a topic's configuration.
    assertThatThrownBy(
            () ->
                admin
                    .incrementalAlterConfigs(
                        Map.of(
                            late,
                            List.of(
                                new AlterConfigOp(
                                    new ConfigEntry("share.delivery.count.limit", "99"),
                                    AlterConfigOp.OpType.SET))))
                    .all()
                    .get())
        .hasCauseInstanceOf(InvalidConfigurationException.class)
        .hasMessageContaining("share.delivery.count.limit");
    assertThatThrownBy(
            () ->
                admin
                    .incrementalAlterConfigs(
                        Map.of(
                            late,
                            List.of(
                                new AlterConfigOp(
                                    new ConfigEntry("consumer.session.timeout.ms", "9000"),
                                    AlterConfigOp.OpType.SET))))
                    .all()
                    .get())
        .hasCauseInstanceOf(InvalidConfigurationException.class);
    assertThatThrownBy(
            () ->
                admin
                    .incrementalAlterConfigs(
                        Map.of(
                            new ConfigResource(ConfigResource.Type.TOPIC, "x"),
                            List.of(
                                new AlterConfigOp(
                                    new ConfigEntry("retention.ms", "1"),
                                    AlterConfigOp.OpType.SET))))
                    .all()
                    .get())
        .hasCauseInstanceOf(InvalidRequestException.class);

    // The configurations are on disk: a restart keeps them.
    admin.close();
    open.remove(admin);
    server.close();
    start();

    topic("news", 1);
    produce("news", 0, 5); // before the group reads: a group starting at the latest never sees them
    KafkaShareConsumer<String, String> c = shareConsumer("late", "implicit");
    c.subscribe(List.of("news"));
    Admin again = admin();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              c.poll(Duration.ofMillis(100));
              var d = again.describeShareGroups(List.of("late")).all().get().get("late");
              return d.members().size() == 1
                  && !d.members().iterator().next().assignment().topicPartitions().isEmpty();
            });
    produce("news", 5, 1);
    List<String> got = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> {
              c.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
              return !got.isEmpty();
            });
    assertThat(got).containsExactly("v5");

    // A group with its own lock duration: the consumer is told it, and it holds.
    KafkaShareConsumer<String, String> q = shareConsumer("quick", "explicit");
    q.subscribe(List.of("news"));
    ConsumerRecord<String, String> first = null;
    List<ConsumerRecord<String, String>> batch = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> {
              q.poll(Duration.ofMillis(200)).forEach(batch::add);
              return !batch.isEmpty();
            });
    first = batch.get(0);
    assertThat(q.acquisitionLockTimeoutMs()).contains(1500);
    for (ConsumerRecord<String, String> r : batch) {
      q.acknowledge(r, AcknowledgeType.ACCEPT);
    }
    q.commitSync();
    assertThat(first.deliveryCount()).contains((short) 1);
  }

  @Test
  void adminListsAShareGroupsStartOffsetsAndLag() throws Exception {
    topic("lagging", 1);
    produce("lagging", 0, 10);
    Set<String> accepted = new HashSet<>();
    Set<String> first = Set.of("v0", "v1", "v2", "v3");
    try (KafkaShareConsumer<String, String> c = shareConsumer("lagger", "explicit")) {
      c.subscribe(List.of("lagging"));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                  boolean take = first.contains(r.value());
                  c.acknowledge(r, take ? AcknowledgeType.ACCEPT : AcknowledgeType.RELEASE);
                  if (take) {
                    accepted.add(r.value());
                  }
                }
                c.commitSync();
                return accepted.size() == 4;
              });
    }
    Map<TopicPartition, SharePartitionOffsetInfo> offsets =
        admin()
            .listShareGroupOffsets(Map.of("lagger", new ListShareGroupOffsetsSpec()))
            .partitionsToOffsetInfo("lagger")
            .get();
    // Offsets 0-3 accepted, 4-9 left: the group starts at 4, six behind.
    assertThat(offsets).containsOnlyKeys(new TopicPartition("lagging", 0));
    SharePartitionOffsetInfo p0 = offsets.get(new TopicPartition("lagging", 0));
    assertThat(p0.startOffset()).isEqualTo(4);
    assertThat(p0.lag()).contains(6L);
    assertThat(
            admin()
                .listShareGroupOffsets(Map.of("nobody", new ListShareGroupOffsetsSpec()))
                .partitionsToOffsetInfo("nobody"))
        .failsWithin(Duration.ofSeconds(20));

    // Deleting the group's offsets on the topic: it starts again as a new group (earliest here).
    admin().deleteShareGroupOffsets("lagger", Set.of("lagging")).all().get();
    assertThat(
            admin()
                .listShareGroupOffsets(Map.of("lagger", new ListShareGroupOffsetsSpec()))
                .partitionsToOffsetInfo("lagger"))
        .failsWithin(Duration.ofSeconds(20));
    KafkaShareConsumer<String, String> again = shareConsumer("lagger", "implicit");
    again.subscribe(List.of("lagging"));
    Set<String> all = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              again.poll(Duration.ofMillis(200)).forEach(r -> all.add(r.value()));
              return all.size() == 10;
            });
    // Not while it has members.
    assertThatThrownBy(
            () -> admin().deleteShareGroupOffsets("lagger", Set.of("lagging")).all().get())
        .hasCauseInstanceOf(GroupNotEmptyException.class);
  }

  @Test
  void aTopicDeletedAndMadeAgainIsReadOnByTheSameMember() throws Exception {
    topic("phoenix", 1);
    produce("phoenix", 0, 1);
    KafkaShareConsumer<String, String> c = shareConsumer("risen", "implicit");
    c.subscribe(List.of("phoenix"));
    assertThat(pollOne(c).value()).isEqualTo("v0");
    Admin admin = admin();
    admin.deleteTopics(List.of("phoenix")).all().get();
    admin.createTopics(List.of(new NewTopic("phoenix", 1, (short) 1))).all().get();
    produce("phoenix", 1, 1);
    assertThat(pollOne(c).value()).isEqualTo("v1");
  }

  @Test
  void adminResetsAnEmptyGroupsOffsets() throws Exception {
    topic("rewind", 1);
    produce("rewind", 0, 5);
    Set<String> seen = new HashSet<>();
    try (KafkaShareConsumer<String, String> c = shareConsumer("rewinder", "implicit")) {
      c.subscribe(List.of("rewind"));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
                return seen.size() == 5;
              });
      c.commitSync();
    }
    TopicPartition p0 = new TopicPartition("rewind", 0);
    Admin admin = admin();
    admin.alterShareGroupOffsets("rewinder", Map.of(p0, 2L)).all().get();
    SharePartitionOffsetInfo info =
        admin
            .listShareGroupOffsets(Map.of("rewinder", new ListShareGroupOffsetsSpec()))
            .partitionsToOffsetInfo("rewinder")
            .get()
            .get(p0);
    assertThat(info.startOffset()).isEqualTo(2);
    assertThat(info.lag()).contains(3L);
    // An offset outside the partition is refused.
    assertThatThrownBy(() -> admin.alterShareGroupOffsets("rewinder", Map.of(p0, 99L)).all().get())
        .hasCauseInstanceOf(InvalidRequestException.class);
    KafkaShareConsumer<String, String> again = shareConsumer("rewinder", "implicit");
    again.subscribe(List.of("rewind"));
    List<String> got = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              again.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
              return got.size() >= 3;
            });
    assertThat(got).containsExactlyInAnyOrder("v2", "v3", "v4");
    // Not while it has members.
    assertThatThrownBy(() -> admin.alterShareGroupOffsets("rewinder", Map.of(p0, 0L)).all().get())
        .hasCauseInstanceOf(GroupNotEmptyException.class);
  }

  static ConsumerRecord<String, String> pollOne(KafkaShareConsumer<String, String> c) {
    List<ConsumerRecord<String, String>> got = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
              rs.forEach(got::add);
              return !got.isEmpty();
            });
    assertThat(got).hasSize(1);
    return got.get(0);
  }
}
