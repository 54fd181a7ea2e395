package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * More real clients with credentials and TLS (issue 18), beside {@link RealClientsSecurityTest}
 * (mosquitto, curl, the Java client): kafka-clients with {@code SASL_SSL} (SCRAM-SHA-512),
 * RabbitMQ's Java client over AMQPS ({@code amqp.tls-port}) with PLAIN, and Eclipse Paho (3.1.1 and
 * 5.0) over {@code ssl://} with a user name and password. Each trusts only the test CA; each is
 * refused with a wrong password.
 */
class RealClientsOverTlsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  TestCertificates.Pem pem;
  SSLContext trusting;

  @BeforeEach
  void start() throws Exception {
    pem = TestCertificates.selfSigned(dir, "server", "switchboard-test");
    server =
        SwitchboardServer.startOnFreePorts(
            Map.ofEntries(
                Map.entry(ConfigCatalogue.DATA_DIR.name(), dir.resolve("data").toString()),
                Map.entry("auth.required", "true"),
                Map.entry("acl.default", "deny"),
                Map.entry("auth.failure-delay-ms", "10"),
                Map.entry("tls.cert", pem.cert().toString()),
                Map.entry("tls.key", pem.key().toString()),
                Map.entry("kafka.tls-port", "0"),
                Map.entry("amqp.tls-port", "0"),
                Map.entry("mqtt.tls-port", "0")));
    server.security().addUser("alice", "alice-pw", "test");
    server
        .security()
        .addRule(
            new AclRule(
                "", AclRule.Effect.ALLOW, "user:alice", EnumSet.allOf(Permission.class), ">"),
            "test");
    trusting = trusting(pem.cert());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  int port(String name) {
    return server.addresses().get(name).getPort();
  }

  static SSLContext trusting(Path cert) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(cert)) {
      ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  // ------------------------------------------------------------------ Kafka

  Properties kafka(String password) {
    Properties p = new Properties();
    p.put("bootstrap.servers", "127.0.0.1:" + port("kafka-tls"));
    p.put("security.protocol", "SASL_SSL");
    p.put("sasl.mechanism", "SCRAM-SHA-512");
    p.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\""
            + " password=\""
            + password
            + "\";");
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", pem.cert().toString());
    p.put("request.timeout.ms", 10_000);
    p.put("default.api.timeout.ms", 20_000);
    return p;
  }

  @Test
  void kafkaClientsProduceAndFetchWithSaslSsl() throws Exception {
    try (Admin admin = Admin.create(kafka("alice-pw"))) {
      admin.createTopics(List.of(new NewTopic("readings", 1, (short) 1))).all().get();
    }
    Properties pp = kafka("alice-pw");
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      producer.send(new ProducerRecord<>("readings", "k", "over-tls")).get();
    }
    Properties cp = kafka("alice-pw");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    List<String> got = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
      TopicPartition tp = new TopicPartition("readings", 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                  got.add(r.value());
                }
                return !got.isEmpty();
              });
    }
    assertThat(got).containsExactly("over-tls");

    try (Admin wrong = Admin.create(kafka("nope"))) {
      assertThatThrownBy(() -> wrong.listTopics().names().get())
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(SaslAuthenticationException.class);
    }
  }

  // ------------------------------------------------------------------ RabbitMQ

  ConnectionFactory rabbit(String password) {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(port("amqp-tls"));
    f.useSslProtocol(trusting);
    f.enableHostnameVerification();
    f.setUsername("alice");
    f.setPassword(password);
    f.setAutomaticRecoveryEnabled(false);
    return f;
  }

  @Test
  void theRabbitMqClientPublishesAndGetsOverAmqps() throws Exception {
    try (com.rabbitmq.client.Connection c = rabbit("alice-pw").newConnection();
        com.rabbitmq.client.Channel ch = c.createChannel()) {
      ch.queueDeclare("tls-queue", true, false, false, null);
      ch.confirmSelect();
      ch.basicPublish("", "tls-queue", null, "over-amqps".getBytes(StandardCharsets.UTF_8));
      ch.waitForConfirmsOrDie(10_000);
      GetResponse[] got = new GetResponse[1];
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> (got[0] = ch.basicGet("tls-queue", true)) != null);
      assertThat(new String(got[0].getBody(), StandardCharsets.UTF_8)).isEqualTo("over-amqps");
    }
    assertThatThrownBy(() -> rabbit("nope").newConnection())
        .isInstanceOf(com.rabbitmq.client.AuthenticationFailureException.class);
  }

  // ------------------------------------------------------------------ Paho

  @Test
  void pahoClientsPublishAndSubscribeOverTlsWithAPassword() throws Exception {
    String uri = "ssl://127.0.0.1:" + port("mqtt-tls");
    var v5 =
        new org.eclipse.paho.mqttv5.client.MqttClient(
            uri, "paho5-tls", new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
    var o5 = new org.eclipse.paho.mqttv5.client.MqttConnectionOptions();
    o5.setSocketFactory(trusting.getSocketFactory());
    o5.setUserName("alice");
    o5.setPassword("alice-pw".getBytes(StandardCharsets.UTF_8));
    v5.connect(o5);
    ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
    v5.subscribe(
        new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
          new org.eclipse.paho.mqttv5.common.MqttSubscription("sensors/#", 1)
        },
        new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {
          (topic, m) -> got.add(topic + "=" + new String(m.getPayload(), StandardCharsets.UTF_8))
        });

    var v3 =
        new org.eclipse.paho.client.mqttv3.MqttClient(
            uri, "paho3-tls", new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
    var o3 = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
    o3.setSocketFactory(trusting.getSocketFactory());
    o3.setUserName("alice");
    o3.setPassword("alice-pw".toCharArray());
    v3.connect(o3);
    v3.publish("sensors/t1", "21.5".getBytes(StandardCharsets.UTF_8), 1, false);
    await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("sensors/t1=21.5"));
    v3.disconnect();
    v3.close();
    v5.disconnect();
    v5.close();

    var bad =
        new org.eclipse.paho.client.mqttv3.MqttClient(
            uri, "paho3-bad", new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
    var ob = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
    ob.setSocketFactory(trusting.getSocketFactory());
    ob.setUserName("alice");
    ob.setPassword("nope".toCharArray());
    assertThatThrownBy(() -> bad.connect(ob))
        .isInstanceOfSatisfying(
            org.eclipse.paho.client.mqttv3.MqttException.class,
            e ->
                assertThat(e.getReasonCode())
                    .isEqualTo(
                        (int)
                            org.eclipse.paho.client.mqttv3.MqttException
                                .REASON_CODE_FAILED_AUTHENTICATION));
    bad.close();
  }
}
