package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
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
 * Kafka clients with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) against a server that requires
 * authentication and denies by default: the rules decide what each user may produce, fetch and
 * manage, with Kafka's own authorization errors; a wrong password and a client without SASL get
 * nothing.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaSecurityTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;
  SecurityAdmin admin;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.failure-delay-ms",
                "10"));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    admin = server.security();
    admin.addUser("ops", "ops-pw", "test");
    admin.addUser("app", "app-pw", "test");
    rule("user:ops", Permission.ADMIN, ">");
    rule("user:ops", Permission.PUBLISH, ">");
    rule("user:app", Permission.PUBLISH, "orders");
    rule("user:app", Permission.CONSUME, "orders.*");
    // A fetch serves whole batches: it needs subscribe on every subject the stream holds.
    rule("user:app", Permission.SUBSCRIBE, "orders");
    rule("user:app", Permission.SUBSCRIBE, "orders.>");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void rule(String who, Permission p, String resource) {
    admin.addRule(new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), resource), "test");
  }

  Properties sasl(String mechanism, String user, String password) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("security.protocol", "SASL_PLAINTEXT");
    p.put("sasl.mechanism", mechanism);
    String module =
        mechanism.equals("PLAIN")
            ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
    p.put(
        "sasl.jaas.config",
        module + " required username=\"" + user + "\" password=\"" + password + "\";");
    p.put("request.timeout.ms", 10_000);
    p.put("default.api.timeout.ms", 20_000);
    return p;
  }

  @ParameterizedTest
  @ValueSource(strings = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
  void aUserProducesAndFetchesWhatTheRulesAllow(String mechanism) throws Exception {
    try (Admin ops = Admin.create(sasl(mechanism, "ops", "ops-pw"))) {
      ops.createTopics(
              List.of(new NewTopic("orders", 1, (short) 1), new NewTopic("payroll", 1, (short) 1)))
          .all()
          .get();
    }
    Properties pp = sasl(mechanism, "app", "app-pw");
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    pp.put("delivery.timeout.ms", 20_000);
    try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
      p.send(new ProducerRecord<>("orders", "k", "allowed")).get(30, TimeUnit.SECONDS);
      assertThatThrownBy(
              () ->
                  p.send(new ProducerRecord<>("payroll", "k", "denied")).get(30, TimeUnit.SECONDS))
          .hasCauseInstanceOf(TopicAuthorizationException.class);
    }
    Properties cp = sasl(mechanism, "app", "app-pw");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    cp.put("auto.offset.reset", "earliest");
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
      TopicPartition orders = new TopicPartition("orders", 0);
      c.assign(List.of(orders));
      c.seekToBeginning(List.of(orders));
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
              });
      assertThat(got).extracting(ConsumerRecord::value).containsExactly("allowed");
      TopicPartition payroll = new TopicPartition("payroll", 0);
      c.assign(List.of(payroll));
      c.seek(payroll, 0);
      assertThatThrownBy(() -> c.poll(Duration.ofSeconds(5)))
          .isInstanceOf(TopicAuthorizationException.class);
    }
    // app may not manage topics.
    try (Admin app = Admin.create(sasl(mechanism, "app", "app-pw"))) {
      assertThatThrownBy(
              () -> app.createTopics(List.of(new NewTopic("mine", 1, (short) 1))).all().get())
          .hasCauseInstanceOf(TopicAuthorizationException.class);
      assertThat(app.listTopics().names().get()).contains("orders").doesNotContain("payroll");
    }
  }

  @Test
  void aWrongPasswordIsRefusedAsKafkaRefusesIt() {
    try (Admin a = Admin.create(sasl("SCRAM-SHA-256", "app", "wrong"))) {
      assertThatThrownBy(() -> a.listTopics().names().get())
          .hasCauseInstanceOf(SaslAuthenticationException.class);
    }
    try (Admin a = Admin.create(sasl("PLAIN", "nobody", "x"))) {
      assertThatThrownBy(() -> a.listTopics().names().get())
          .hasCauseInstanceOf(SaslAuthenticationException.class);
    }
  }

  @Test
  void aClientWithoutSaslGetsNothing() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("request.timeout.ms", 3_000);
    p.put("default.api.timeout.ms", 6_000);
    try (Admin a = Admin.create(p)) {
      assertThatThrownBy(() -> a.listTopics().names().get(20, TimeUnit.SECONDS))
          .isInstanceOfAny(
              java.util.concurrent.ExecutionException.class,
              java.util.concurrent.TimeoutException.class);
    }
  }

  /**
   * A fetch serves record batches byte for byte, so it cannot skip a subject: a reader that may not
   * subscribe to every subject of the topic's stream is refused TOPIC_AUTHORIZATION_FAILED, and
   * reads once the rule that carved a subject out is gone (issue 18).
   */
  @Test
  void aFetchOfATopicWithASubjectTheReaderMayNotReadIsRefused() throws Exception {
    try (Admin ops = Admin.create(sasl("PLAIN", "ops", "ops-pw"))) {
      ops.createTopics(List.of(new NewTopic("orders", 1, (short) 1))).all().get();
    }
    AclRule carve =
        admin.addRule(
            new AclRule(
                "",
                AclRule.Effect.DENY,
                "user:app",
                EnumSet.of(Permission.SUBSCRIBE),
                "orders.secret.>"),
            "test");
    Properties pp = sasl("PLAIN", "ops", "ops-pw");
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
      p.send(new ProducerRecord<>("orders", "k", "v")).get(30, TimeUnit.SECONDS);
    }
    Properties cp = sasl("PLAIN", "app", "app-pw");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
      TopicPartition orders = new TopicPartition("orders", 0);
      c.assign(List.of(orders));
      c.seek(orders, 0);
      assertThatThrownBy(() -> c.poll(Duration.ofSeconds(5)))
          .isInstanceOf(TopicAuthorizationException.class);
      admin.removeRule(carve.id(), "test");
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
              });
      assertThat(got).extracting(ConsumerRecord::value).containsExactly("v");
    }
  }
}
