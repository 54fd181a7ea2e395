package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.GroupProtocol;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kafka-clients 4.4 consumers with {@code group.protocol=consumer} (KIP-848) against a whole server
 * on loopback: the server assigns the partitions, members join and leave while records flow, and
 * with a commit after each poll every record is consumed exactly once.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaConsumerProtocolTest {
  static final int PARTITIONS = 6;

  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;
  final ExecutorService threads = Executors.newCachedThreadPool();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                KafkaFrontEnd.CONSUMER_HEARTBEAT_INTERVAL_MS.name(),
                "300"));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic("cg", PARTITIONS, (short) 1))).all().get();
    }
  }

  @AfterEach
  void stop() {
    threads.shutdownNow();
    server.close();
  }

  Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return Admin.create(p);
  }

  KafkaConsumer<String, String> consumer(String group, String clientId) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, GroupProtocol.CONSUMER.name());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 25);
    return new KafkaConsumer<>(p);
  }

  void produce(int from, int to) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = from; i < to; i++) {
        producer.send(new ProducerRecord<>("cg", i % PARTITIONS, "k" + i, "v" + i));
      }
      producer.flush();
    }
  }

  /** A member polling until told to stop, committing what each poll gave before the next. */
  final class Member implements AutoCloseable {
    final AtomicBoolean stop = new AtomicBoolean();
    final CompletableFuture<Void> done;
    volatile Set<TopicPartition> assignment = Set.of();

    Member(String group, String clientId, ConcurrentLinkedQueue<String> seen) {
      done =
          CompletableFuture.runAsync(
              () -> {
                try (KafkaConsumer<String, String> c = consumer(group, clientId)) {
                  c.subscribe(List.of("cg"));
                  while (!stop.get()) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                      seen.add(r.partition() + "@" + r.offset() + "=" + r.value());
                    }
                    c.commitSync();
                    assignment = Set.copyOf(c.assignment());
                  }
                }
              },
              threads);
    }

    @Override
    public void close() {
      stop.set(true);
      done.join();
    }
  }

  @Test
  void twoThenThreeMembersShareTheTopicAndEveryRecordIsConsumedOnce() throws Exception {
    ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
    produce(0, 300);
    try (Member a = new Member("shared", "a", seen)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> a.assignment.size() == PARTITIONS);
      produce(300, 600);
      try (Member b = new Member("shared", "b", seen)) {
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> a.assignment.size() == 3 && b.assignment.size() == 3);
        assertThat(disjoint(a.assignment, b.assignment)).isTrue();
        produce(600, 900);
        try (Member c = new Member("shared", "c", seen)) {
          await()
              .atMost(Duration.ofSeconds(30))
              .until(
                  () ->
                      a.assignment.size() == 2
                          && b.assignment.size() == 2
                          && c.assignment.size() == 2);
          assertThat(disjoint(a.assignment, b.assignment, c.assignment)).isTrue();
          produce(900, 1200);
          try (Admin admin = admin()) {
            ConsumerGroupDescription d =
                admin.describeConsumerGroups(List.of("shared")).all().get().get("shared");
            assertThat(d.type()).isEqualTo(GroupType.CONSUMER);
            assertThat(d.partitionAssignor()).isEqualTo("uniform");
            assertThat(d.members())
                .extracting(MemberDescription::clientId)
                .containsExactlyInAnyOrder("a", "b", "c");
            Set<TopicPartition> all = new HashSet<>();
            d.members().forEach(m -> all.addAll(m.assignment().topicPartitions()));
            assertThat(all).hasSize(PARTITIONS);
            assertThat(admin.listGroups().all().get())
                .filteredOn(g -> g.groupId().equals("shared"))
                .singleElement()
                .satisfies(g -> assertThat(g.type()).contains(GroupType.CONSUMER));
          }
          await().atMost(Duration.ofSeconds(60)).until(() -> distinct(seen) == 1200);
        }
        // c left: a and b take its partitions back
        produce(1200, 1500);
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> a.assignment.size() + b.assignment.size() == PARTITIONS);
        await().atMost(Duration.ofSeconds(60)).until(() -> distinct(seen) == 1500);
      }
    }
    List<String> all = new ArrayList<>(seen);
    assertThat(all).as("nothing twice").doesNotHaveDuplicates();
    assertThat(all).hasSize(1500);
    try (Admin admin = admin()) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets("shared").partitionsToOffsetAndMetadata().get();
      for (int p = 0; p < PARTITIONS; p++) {
        assertThat(committed.get(new TopicPartition("cg", p)).offset()).isEqualTo(250);
      }
      assertThat(admin.listGroups().all().get())
          .extracting(GroupListing::groupId)
          .contains("shared");
    }
  }

  @Test
  void aLaterMemberResumesFromTheGroupsCommitsAndClassicMembersCannotJoin() throws Exception {
    produce(0, 60);
    ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
    try (Member a = new Member("resume", "a", seen)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> distinct(seen) == 60);
      assertThat(a.assignment).hasSize(PARTITIONS);
      // A classic consumer cannot join a group the consumer protocol runs.
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ConsumerConfig.GROUP_ID_CONFIG, "resume");
      p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
      p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
      try (KafkaConsumer<String, String> classic = new KafkaConsumer<>(p)) {
        classic.subscribe(List.of("cg"));
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> {
                  for (int i = 0; i < 50; i++) {
                    classic.poll(Duration.ofMillis(200));
                  }
                })
            .isInstanceOf(org.apache.kafka.common.errors.InconsistentGroupProtocolException.class);
      }
    }
    produce(60, 90);
    ConcurrentLinkedQueue<String> later = new ConcurrentLinkedQueue<>();
    try (Member b = new Member("resume", "b", later)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> distinct(later) == 30);
      assertThat(b.assignment).hasSize(PARTITIONS);
    }
    assertThat(later)
        .allSatisfy(r -> assertThat(Integer.parseInt(r.split("=v")[1])).isGreaterThanOrEqualTo(60));
  }

  static long distinct(ConcurrentLinkedQueue<String> seen) {
    return new HashSet<>(seen).size();
  }

  @SafeVarargs
  static boolean disjoint(Set<TopicPartition>... sets) {
    for (int i = 0; i < sets.length; i++) {
      for (int j = i + 1; j < sets.length; j++) {
        if (!Collections.disjoint(sets[i], sets[j])) {
          return false;
        }
      }
    }
    return true;
  }
}
