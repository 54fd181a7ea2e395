package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kafka-clients 4.x (Admin and KafkaConsumer, unmodified) against a whole server on loopback:
 * topics made and removed by Kafka's Admin are streams; messages published over the native protocol
 * are fetched by a Kafka consumer, subject and all.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KafkaClientsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;
  SwitchboardClient nativeClient;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    nativeClient =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", server.addresses().get("native").getPort()));
  }

  @AfterEach
  void stop() {
    if (nativeClient != null) {
      nativeClient.close();
    }
    server.close();
  }

  Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return Admin.create(p);
  }

  KafkaConsumer<String, String> consumer() {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return new KafkaConsumer<>(p);
  }

  @Test
  void adminCreatesDescribesAndDeletesTopicsAsStreams() throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic("orders", 3, (short) 1))).all().get();
      assertThat(admin.listTopics().names().get()).contains("orders");
      TopicDescription d =
          admin.describeTopics(List.of("orders")).allTopicNames().get().get("orders");
      assertThat(d.partitions()).hasSize(3);
      assertThat(d.partitions().get(0).leader().id()).isEqualTo(0);
      assertThat(d.topicId()).isEqualTo(KafkaTopics.topicId("orders"));
      // The topic is a stream: the native admin sees it, with the topic's subjects.
      assertThat(
              nativeClient.admin(
                  io.switchboard.protocol.frame.Admin.Op.STREAM_INFO, "{\"name\":\"orders\"}"))
          .contains("\"partitions\":3")
          .contains("orders.>");

      assertThatThrownBy(
              () -> admin.createTopics(List.of(new NewTopic("orders", 1, (short) 1))).all().get())
          .hasCauseInstanceOf(TopicExistsException.class);
      assertThatThrownBy(
              () -> admin.createTopics(List.of(new NewTopic("a.b", 1, (short) 1))).all().get())
          .hasCauseInstanceOf(InvalidTopicException.class)
          .hasMessageContaining("'.' is not allowed");
      assertThatThrownBy(
              () -> admin.createTopics(List.of(new NewTopic("rf3", 1, (short) 3))).all().get())
          .hasCauseInstanceOf(InvalidReplicationFactorException.class);

      admin.deleteTopics(List.of("orders")).all().get();
      assertThat(admin.listTopics().names().get()).doesNotContain("orders");
      assertThatThrownBy(() -> admin.describeTopics(List.of("orders")).allTopicNames().get())
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
    }
  }

  @Test
  void aKafkaConsumerFetchesWhatTheNativeClientPublished() throws Exception {
    nativeClient.admin(
        io.switchboard.protocol.frame.Admin.Op.STREAM_CREATE,
        "{\"name\":\"EVENTS\",\"subjects\":[\"events.>\"]}");
    for (int i = 0; i < 500; i++) {
      nativeClient.publishAsync(PublishBuilder.to("events.k" + (i % 5), "m" + i));
    }
    nativeClient.publishAsync(PublishBuilder.to("events.last", "m500")).get(10, TimeUnit.SECONDS);

    TopicPartition tp = new TopicPartition("EVENTS", 0);
    try (KafkaConsumer<String, String> c = consumer()) {
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return got.size() >= 501;
              });
      assertThat(got).hasSize(501);
      for (int i = 0; i < got.size(); i++) {
        assertThat(got.get(i).offset()).isEqualTo(i);
        assertThat(got.get(i).value()).isEqualTo("m" + i);
      }
      assertThat(
              new String(
                  got.get(3).headers().lastHeader("sb-subject").value(), StandardCharsets.UTF_8))
          .isEqualTo("events.k3");

      // The next poll long-polls (fetch max.wait) and gets what is published meanwhile.
      Thread publisher =
          Thread.ofVirtual()
              .start(
                  () -> nativeClient.publishAsync(PublishBuilder.to("events.late", "late")).join());
      List<ConsumerRecord<String, String>> late = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(500)).forEach(late::add);
                return !late.isEmpty();
              });
      publisher.join();
      assertThat(late).extracting(ConsumerRecord::value).containsExactly("late");
      assertThat(late.get(0).offset()).isEqualTo(501);
    }
  }

  @Test
  void listOffsetsAnswersEarliestLatestAndByTime() throws Exception {
    nativeClient.admin(
        io.switchboard.protocol.frame.Admin.Op.STREAM_CREATE,
        "{\"name\":\"T\",\"subjects\":[\"t.>\"]}");
    long before = System.currentTimeMillis();
    for (int i = 0; i < 10; i++) {
      nativeClient.publishAsync(PublishBuilder.to("t.x", "m" + i)).get(10, TimeUnit.SECONDS);
    }
    TopicPartition tp = new TopicPartition("T", 0);
    try (KafkaConsumer<String, String> c = consumer()) {
      assertThat(c.beginningOffsets(Set.of(tp))).containsEntry(tp, 0L);
      assertThat(c.endOffsets(Set.of(tp))).containsEntry(tp, 10L);
      Map<TopicPartition, OffsetAndTimestamp> byTime = c.offsetsForTimes(Map.of(tp, before));
      assertThat(byTime.get(tp).offset()).isEqualTo(0L);
      assertThat(byTime.get(tp).timestamp()).isGreaterThanOrEqualTo(before);
      Map<TopicPartition, OffsetAndTimestamp> future =
          c.offsetsForTimes(Map.of(tp, System.currentTimeMillis() + 3_600_000));
      assertThat(future.get(tp)).isNull();
    }
  }

  @Test
  void listOffsetsAnswersTheFirstRecordWithTheLargestTimestamp() throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic("stamps", 2, (short) 1))).all().get();
      TopicPartition tp = new TopicPartition("stamps", 0);
      TopicPartition empty = new TopicPartition("stamps", 1);
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      long[] stamps = {1_000, 5_000, 3_000, 5_000, 2_000}; // largest at offsets 1 and 3
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
        for (int i = 0; i < stamps.length; i++) {
          producer.send(new ProducerRecord<>("stamps", 0, stamps[i], "k", "v" + i)).get();
        }
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> max =
          admin
              .listOffsets(Map.of(tp, OffsetSpec.maxTimestamp(), empty, OffsetSpec.maxTimestamp()))
              .all()
              .get();
      assertThat(max.get(tp).offset()).isEqualTo(1L);
      assertThat(max.get(tp).timestamp()).isEqualTo(5_000L);
      assertThat(max.get(empty).offset()).isEqualTo(-1L);
    }
  }

  @Test
  void aFetchOutsideThePartitionIsResetByTheConsumersPolicy() throws Exception {
    nativeClient.admin(
        io.switchboard.protocol.frame.Admin.Op.STREAM_CREATE,
        "{\"name\":\"R\",\"subjects\":[\"r.>\"]}");
    for (int i = 0; i < 3; i++) {
      nativeClient.publishAsync(PublishBuilder.to("r.x", "m" + i)).get(10, TimeUnit.SECONDS);
    }
    TopicPartition tp = new TopicPartition("R", 0);
    try (KafkaConsumer<String, String> c = consumer()) {
      c.assign(List.of(tp));
      c.seek(tp, 1_000); // past the end: OFFSET_OUT_OF_RANGE, reset to earliest
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return got.size() >= 3;
              });
      assertThat(got).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L);
    }
  }

  @Test
  void adminDescribesTheClusterAndRealConfigs() throws Exception {
    try (Admin admin = admin()) {
      var cluster = admin.describeCluster();
      assertThat(cluster.nodes().get()).hasSize(1);
      assertThat(cluster.nodes().get().iterator().next().port())
          .isEqualTo(server.addresses().get("kafka").getPort());
      assertThat(cluster.controller().get().id()).isZero();
      assertThat(cluster.clusterId().get()).isNotBlank();

      admin
          .createTopics(
              List.of(
                  new NewTopic("conf", 1, (short) 1)
                      .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete"))))
          .all()
          .get();
      ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "conf");
      Config c = admin.describeConfigs(List.of(topic)).all().get().get(topic);
      assertThat(c.get("retention.ms").value()).isEqualTo("3600000");
      assertThat(c.get("retention.ms").source())
          .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
      assertThat(c.get("max.message.bytes").value()).isEqualTo("1048576");
      assertThat(c.get("max.message.bytes").source())
          .isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);

      ConfigResource node = new ConfigResource(ConfigResource.Type.BROKER, "0");
      assertThat(
              admin
                  .describeConfigs(List.of(node))
                  .all()
                  .get()
                  .get(node)
                  .get("num.partitions")
                  .value())
          .isEqualTo("1");

      assertThatThrownBy(
              () ->
                  admin
                      .createTopics(
                          List.of(new NewTopic("bad", 1, (short) 1).configs(Map.of("x.y", "1"))))
                      .all()
                      .get())
          .hasCauseInstanceOf(org.apache.kafka.common.errors.InvalidConfigurationException.class)
          .hasMessageContaining("x.y");
      ConfigResource missing = new ConfigResource(ConfigResource.Type.TOPIC, "missing");
      assertThatThrownBy(() -> admin.describeConfigs(List.of(missing)).all().get())
          .hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
    }
  }

  @Test
  void adminGrowsATopicsPartitionsButNeverShrinksThem() throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic("growing", 2, (short) 1))).all().get();
      admin.createPartitions(Map.of("growing", NewPartitions.increaseTo(5))).all().get();
      assertThat(
              admin
                  .describeTopics(List.of("growing"))
                  .allTopicNames()
                  .get()
                  .get("growing")
                  .partitions())
          .hasSize(5);
      assertThat(
              nativeClient.admin(
                  io.switchboard.protocol.frame.Admin.Op.STREAM_INFO, "{\"name\":\"growing\"}"))
          .contains("\"partitions\":5");
      assertThatThrownBy(
              () ->
                  admin
                      .createPartitions(Map.of("growing", NewPartitions.increaseTo(3)))
                      .all()
                      .get())
          .hasCauseInstanceOf(org.apache.kafka.common.errors.InvalidPartitionsException.class)
          .hasMessageContaining("only grow");
      assertThatThrownBy(
              () ->
                  admin
                      .createPartitions(Map.of("nothing", NewPartitions.increaseTo(3)))
                      .all()
                      .get())
          .hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
    }
  }
}
