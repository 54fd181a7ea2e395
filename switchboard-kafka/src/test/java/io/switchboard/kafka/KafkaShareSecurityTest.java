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
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Share groups under the rules (auth required, deny by default): a share group reading a topic is a
 * consumer of its stream, so a user needs {@code consume} on {@code TOPIC.GROUP}; without it the
 * share consumer gets Kafka's {@code TopicAuthorizationException}, and altering a group's
 * configuration needs {@code admin} on {@code $streams}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaShareSecurityTest {
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
                "10",
                KafkaShareGroups.AUTO_OFFSET_RESET.name(),
                "earliest"));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    admin = server.security();
    admin.addUser("ops", "ops-pw", "test");
    admin.addUser("app", "app-pw", "test");
    rule("user:ops", Permission.ADMIN, ">");
    rule("user:ops", Permission.PUBLISH, ">");
    rule("user:app", Permission.CONSUME, "orders.workers");
    rule("user:app", Permission.CONSUME, "orders.$read");
    // A share fetch serves whole records, so it needs every subject of the topic (StreamReads).
    rule("user:app", Permission.SUBSCRIBE, "orders");
    rule("user:app", Permission.SUBSCRIBE, "orders.>");
    // payroll: the group may consume, but its subjects may not be read.
    rule("user:app", Permission.CONSUME, "payroll.workers");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void rule(String who, Permission p, String resource) {
    admin.addRule(new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), resource), "test");
  }

  Properties sasl(String user, String password) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("security.protocol", "SASL_PLAINTEXT");
    p.put("sasl.mechanism", "PLAIN");
    p.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + user
            + "\" password=\""
            + password
            + "\";");
    p.put("request.timeout.ms", 10_000);
    p.put("default.api.timeout.ms", 20_000);
    return p;
  }

  KafkaShareConsumer<String, String> share(String user, String password, String group) {
    Properties p = sasl(user, password);
    p.put("group.id", group);
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    return new KafkaShareConsumer<>(p);
  }

  @Test
  void aShareGroupReadsOnlyWhatTheRulesLetItsUserConsumeAsThatGroup() throws Exception {
    try (Admin ops = Admin.create(sasl("ops", "ops-pw"))) {
      ops.createTopics(
              List.of(new NewTopic("orders", 1, (short) 1), new NewTopic("payroll", 1, (short) 1)))
          .all()
          .get();
      Properties pp = sasl("ops", "ops-pw");
      pp.put("key.serializer", StringSerializer.class.getName());
      pp.put("value.serializer", StringSerializer.class.getName());
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
        producer.send(new ProducerRecord<>("orders", "k", "order-1")).get();
        producer.send(new ProducerRecord<>("payroll", "k", "salary-1")).get();
      }
      // Altering a group's configuration is the server's admin's.
      try (Admin app = Admin.create(sasl("app", "app-pw"))) {
        assertThatThrownBy(
                () ->
                    app.incrementalAlterConfigs(
                            Map.of(
                                new ConfigResource(ConfigResource.Type.GROUP, "workers"),
                                List.of(
                                    new AlterConfigOp(
                                        new ConfigEntry("share.auto.offset.reset", "latest"),
                                        AlterConfigOp.OpType.SET))))
                        .all()
                        .get())
            .hasCauseInstanceOf(GroupAuthorizationException.class);
      }
    }
    // app may consume orders as group "workers".
    try (KafkaShareConsumer<String, String> c = share("app", "app-pw", "workers")) {
      c.subscribe(List.of("orders"));
      List<String> got = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
                return !got.isEmpty();
              });
      assertThat(got).containsExactly("order-1");
    }
    // Not payroll (no subscribe on its subjects), and not orders as another group.
    for (String[] attempt : new String[][] {{"payroll", "workers"}, {"orders", "others"}}) {
      try (KafkaShareConsumer<String, String> c = share("app", "app-pw", attempt[1])) {
        c.subscribe(List.of(attempt[0]));
        assertThatThrownBy(
                () -> {
                  long until = System.currentTimeMillis() + 20_000;
                  while (System.currentTimeMillis() < until) {
                    assertThat(c.poll(Duration.ofMillis(200)).count()).isZero();
                  }
                })
            .as("%s as %s", attempt[0], attempt[1])
            .isInstanceOf(TopicAuthorizationException.class);
      }
    }
  }
}
