package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * kafka-clients' producer (idempotent, every codec) and consumer groups (subscribe, rebalance,
 * commit, resume from the committed offset), and Admin's group tools, against a whole server; and
 * the same records reaching a native subscriber.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaProduceConsumeTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return Admin.create(p);
  }

  KafkaProducer<String, String> producer(String compression) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    return new KafkaProducer<>(p);
  }

  KafkaConsumer<String, String> consumer(String group) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
    return new KafkaConsumer<>(p);
  }

  void createTopic(String name, int partitions) throws Exception {
    try (Admin a = admin()) {
      a.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    }
  }

  List<ConsumerRecord<String, String>> pollUntil(
      KafkaConsumer<String, String> c, int count, Duration within) {
    List<ConsumerRecord<String, String>> got = new ArrayList<>();
    await()
        .atMost(within)
        .until(
            () -> {
              c.poll(Duration.ofMillis(200)).forEach(got::add);
              return got.size() >= count;
            });
    return got;
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
  void anIdempotentProducerIsReadBackByAConsumerGroup(String compression) throws Exception {
    createTopic("orders", 3);
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    try (KafkaProducer<String, String> p = producer(compression)) {
      for (int i = 0; i < 300; i++) {
        acks.add(p.send(new ProducerRecord<>("orders", "k" + (i % 7), "v" + i)));
      }
      p.flush();
      for (Future<RecordMetadata> f : acks) {
        RecordMetadata m = f.get(30, TimeUnit.SECONDS);
        assertThat(m.offset()).isGreaterThanOrEqualTo(0);
      }
    }
    try (KafkaConsumer<String, String> c = consumer("g-" + compression)) {
      c.subscribe(List.of("orders"));
      List<ConsumerRecord<String, String>> got = pollUntil(c, 300, Duration.ofSeconds(60));
      assertThat(got).hasSize(300);
      Set<String> values = new HashSet<>();
      got.forEach(r -> values.add(r.value()));
      assertThat(values).hasSize(300);
      // One key, one partition, in order.
      Map<String, Integer> partitionOfKey = new ConcurrentHashMap<>();
      Map<String, List<Integer>> orderOfKey = new ConcurrentHashMap<>();
      for (ConsumerRecord<String, String> r : got) {
        assertThat(partitionOfKey.computeIfAbsent(r.key(), k -> r.partition()))
            .isEqualTo(r.partition());
        orderOfKey
            .computeIfAbsent(r.key(), k -> new ArrayList<>())
            .add(Integer.parseInt(r.value().substring(1)));
      }
      orderOfKey.values().forEach(l -> assertThat(l).isSorted());
      c.commitSync();
    }
  }

  @Test
  void aGroupResumesFromItsCommittedOffsetsAndAdminSeesThem() throws Exception {
    createTopic("events", 2);
    try (KafkaProducer<String, String> p = producer("none")) {
      for (int i = 0; i < 50; i++) {
        p.send(new ProducerRecord<>("events", "k" + i, "first-" + i));
      }
      p.flush();
    }
    try (KafkaConsumer<String, String> c = consumer("billing")) {
      c.subscribe(List.of("events"));
      assertThat(pollUntil(c, 50, Duration.ofSeconds(60))).hasSize(50);
      c.commitSync(
          Map.of(
              new TopicPartition("events", 0),
              new OffsetAndMetadata(c.position(new TopicPartition("events", 0)), "note-0"),
              new TopicPartition("events", 1),
              new OffsetAndMetadata(c.position(new TopicPartition("events", 1)))));
    }
    try (KafkaProducer<String, String> p = producer("none")) {
      for (int i = 0; i < 5; i++) {
        p.send(new ProducerRecord<>("events", "k" + i, "second-" + i)).get(30, TimeUnit.SECONDS);
      }
    }
    try (KafkaConsumer<String, String> c = consumer("billing")) {
      c.subscribe(List.of("events"));
      List<ConsumerRecord<String, String>> got = pollUntil(c, 5, Duration.ofSeconds(60));
      assertThat(got).extracting(ConsumerRecord::value).allMatch(v -> v.startsWith("second-"));
      assertThat(got).hasSize(5);
      c.commitSync();
    }
    try (Admin a = admin()) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          a.listConsumerGroupOffsets("billing").partitionsToOffsetAndMetadata().get();
      assertThat(offsets.values().stream().mapToLong(OffsetAndMetadata::offset).sum())
          .isEqualTo(55);
      assertThat(a.listGroups().all().get()).anyMatch(g -> g.groupId().equals("billing"));
      ConsumerGroupDescription d =
          a.describeConsumerGroups(List.of("billing")).all().get().get("billing");
      assertThat(d.members()).isEmpty();
      a.deleteConsumerGroups(List.of("billing")).all().get();
      assertThat(a.listConsumerGroupOffsets("billing").partitionsToOffsetAndMetadata().get())
          .isEmpty();
    }
  }

  @Test
  void twoMembersShareThePartitionsAndTheLastOneTakesThemAll() throws Exception {
    createTopic("work", 4);
    try (KafkaProducer<String, String> p = producer("none")) {
      for (int i = 0; i < 40; i++) {
        p.send(new ProducerRecord<>("work", "k" + i, "w" + i));
      }
      p.flush();
    }
    KafkaConsumer<String, String> a = consumer("pool");
    KafkaConsumer<String, String> b = consumer("pool");
    try {
      a.subscribe(List.of("work"));
      b.subscribe(List.of("work"));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                a.poll(Duration.ofMillis(100));
                b.poll(Duration.ofMillis(100));
                return a.assignment().size() == 2 && b.assignment().size() == 2;
              });
      Set<TopicPartition> all = new HashSet<>(a.assignment());
      all.addAll(b.assignment());
      assertThat(all).hasSize(4);
      b.close();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                a.poll(Duration.ofMillis(100));
                return a.assignment().size() == 4;
              });
    } finally {
      a.close();
      b.close();
    }
  }

  @Test
  void aKafkaRecordReachesNativeSubscribersOnItsSubject() throws Exception {
    createTopic("prices", 1);
    List<String> seen = new CopyOnWriteArrayList<>();
    try (SwitchboardClient nativeClient =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", server.addresses().get("native").getPort()))) {
      nativeClient.subscribe(
          "prices.>",
          (LiveMessage m) ->
              seen.add(m.subject() + "=" + new String(m.payload(), StandardCharsets.UTF_8)));
      nativeClient.subscribe(
          "prices",
          (LiveMessage m) ->
              seen.add(m.subject() + "=" + new String(m.payload(), StandardCharsets.UTF_8)));
      try (KafkaProducer<String, String> p = producer("none")) {
        ProducerRecord<String, String> withSubject = new ProducerRecord<>("prices", "eur", "1.08");
        withSubject.headers().add("sb-subject", "prices.eur".getBytes(StandardCharsets.UTF_8));
        p.send(withSubject).get(30, TimeUnit.SECONDS);
        p.send(new ProducerRecord<>("prices", "plain", "42")).get(30, TimeUnit.SECONDS);
        ProducerRecord<String, String> elsewhere = new ProducerRecord<>("prices", "x", "no");
        elsewhere.headers().add("sb-subject", "other.subject".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> p.send(elsewhere).get(30, TimeUnit.SECONDS))
            .hasCauseInstanceOf(InvalidRecordException.class);
      }
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> seen.containsAll(List.of("prices.eur=1.08", "prices=42")));
      assertThat(seen).hasSize(2);
    }
  }

  @Test
  void internalTopicsAreReadOnlyForProducers() throws Exception {
    // A stream the server keeps for itself, as the MQTT front end keeps its retained messages.
    createTopic("SERVER_OWN", 1);
    server.broker().ownStream("SERVER_OWN", "test");
    try (Admin a = admin()) {
      assertThat(
              a.listTopics(
                      new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                  .listings()
                  .get())
          .anyMatch(t -> t.name().equals("SERVER_OWN") && t.isInternal());
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.RETRIES_CONFIG, 0);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      assertThatThrownBy(
              () ->
                  producer
                      .send(new ProducerRecord<>("SERVER_OWN", "k", "v"))
                      .get(30, TimeUnit.SECONDS))
          .hasCauseInstanceOf(org.apache.kafka.common.errors.InvalidTopicException.class);
    }
  }
}
