package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.QuotaLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas the Kafka way (issue 18): kafka-clients past a publish or consume quota get answers with
 * {@code throttle_time_ms} and back off — their throttle-time metrics move — and never an error.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaQuotaTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.createTopics(List.of(new NewTopic("metered", 1, (short) 1))).all().get();
    }
  }

  @AfterEach
  void stop() {
    server.close();
  }

  static double metric(Map<MetricName, ? extends Metric> metrics, String name) {
    return metrics.entrySet().stream()
        .filter(e -> e.getKey().name().equals(name) && e.getKey().tags().size() == 1)
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .filter(d -> !Double.isNaN(d))
        .max()
        .orElse(0);
  }

  @Test
  void aProducerPastItsByteRateIsThrottledAndEverySendSucceeds() throws Exception {
    server
        .security()
        .setQuota("anonymous", QuotaLimits.fromMap(Map.of("publish-bytes", 20_000L)), "test");
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    p.put("linger.ms", 0);
    p.put("batch.size", 16_384);
    p.put("delivery.timeout.ms", 60_000);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        sent.add(producer.send(new ProducerRecord<>("metered", new byte[2_000])));
      }
      for (Future<RecordMetadata> f : sent) {
        f.get(60, TimeUnit.SECONDS); // no error: throttled, not refused
      }
      assertThat(metric(producer.metrics(), "produce-throttle-time-max")).isPositive();
    }
  }

  @Test
  void aConsumerPastItsByteRateIsThrottledAndReadsEverything() throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < 40; i++) {
        producer.send(new ProducerRecord<>("metered", new byte[2_000]));
      }
      producer.flush();
    }
    server
        .security()
        .setQuota("anonymous", QuotaLimits.fromMap(Map.of("consume-bytes", 20_000L)), "test");
    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("key.deserializer", ByteArrayDeserializer.class.getName());
    c.put("value.deserializer", ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c)) {
      TopicPartition tp = new TopicPartition("metered", 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      int[] got = {0};
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                got[0] += consumer.poll(Duration.ofMillis(200)).count();
                return got[0] >= 40;
              });
      assertThat(got[0]).isEqualTo(40);
      assertThat(metric(consumer.metrics(), "fetch-throttle-time-max")).isPositive();
    }
  }

  /**
   * Joining a consumer group counts as a consumer (issue 18): past the principal's consumer quota a
   * JoinGroup is answered GROUP_MAX_SIZE_REACHED, which kafka-clients raise from poll; a member
   * that closes (LeaveGroup, connection closed) gives its place back.
   */
  @Test
  void aGroupMemberPastTheConsumerQuotaIsRefusedAndAClosedOneGivesItsPlaceBack() throws Exception {
    server.security().setQuota("anonymous", QuotaLimits.fromMap(Map.of("consumers", 1L)), "test");
    java.util.function.Supplier<KafkaConsumer<byte[], byte[]>> member =
        () -> {
          Properties c = new Properties();
          c.put("bootstrap.servers", bootstrap);
          c.put("group.id", "quota-group");
          c.put("key.deserializer", ByteArrayDeserializer.class.getName());
          c.put("value.deserializer", ByteArrayDeserializer.class.getName());
          c.put("session.timeout.ms", 10_000);
          return new KafkaConsumer<>(c);
        };
    io.switchboard.spi.security.QuotaMeter meter =
        server.security().quotas().meter(io.switchboard.spi.security.Principal.ANONYMOUS);
    try (KafkaConsumer<byte[], byte[]> first = member.get()) {
      first.subscribe(List.of("metered"));
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(60))
          .until(
              () -> {
                first.poll(java.time.Duration.ofMillis(100));
                return !first.assignment().isEmpty();
              });
      assertThat(meter.consumers()).isEqualTo(1);
      try (KafkaConsumer<byte[], byte[]> second = member.get()) {
        second.subscribe(List.of("metered"));
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> {
                  for (int i = 0; i < 100; i++) {
                    second.poll(java.time.Duration.ofMillis(200));
                  }
                })
            .isInstanceOf(org.apache.kafka.common.errors.GroupMaxSizeReachedException.class);
      }
    }
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .until(() -> meter.consumers() == 0);
  }
}
