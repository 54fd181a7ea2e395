package io.switchboard.mqtt.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HiveMQ MQTT client (3.1.1 and 5.0) against the server started from the command line's jar:
 * QoS 0/1/2, retained messages, wills, a persistent session across SIGKILL, shared subscriptions,
 * request/response, topic aliases and message expiry.
 */
class HiveMqClientTest {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  SwitchboardProcess server;
  final List<Runnable> cleanup = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = SwitchboardProcess.start(dir.resolve("data"));
  }

  @AfterEach
  void stop() throws Exception {
    for (Runnable r : cleanup) {
      try {
        r.run();
      } catch (RuntimeException e) {
        // already disconnected
      }
    }
    server.close();
  }

  Mqtt5BlockingClient v5(String id) {
    Mqtt5BlockingClient c =
        Mqtt5Client.builder()
            .identifier(id)
            .serverHost("127.0.0.1")
            .serverPort(server.mqttPort)
            .buildBlocking();
    cleanup.add(
        () -> {
          if (c.getState().isConnected()) {
            c.disconnect();
          }
        });
    return c;
  }

  Mqtt3BlockingClient v3(String id) {
    Mqtt3BlockingClient c =
        Mqtt3Client.builder()
            .identifier(id)
            .serverHost("127.0.0.1")
            .serverPort(server.mqttPort)
            .buildBlocking();
    cleanup.add(
        () -> {
          if (c.getState().isConnected()) {
            c.disconnect();
          }
        });
    return c;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(Mqtt5Publish p) {
    return new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void everyQosBothDirectionsBetweenV3AndV5() throws Exception {
    Mqtt5BlockingClient sub = v5("sub");
    sub.connect();
    try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
      sub.subscribeWith().topicFilter("qos/#").qos(MqttQos.EXACTLY_ONCE).send();
      Mqtt3BlockingClient pub = v3("pub");
      pub.connect();
      for (MqttQos q : MqttQos.values()) {
        pub.publishWith()
            .topic("qos/" + q.getCode())
            .qos(q)
            .payload(utf8("q" + q.getCode()))
            .send();
      }
      List<String> got = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Optional<Mqtt5Publish> p = in.receive(10, TimeUnit.SECONDS);
        assertThat(p).isPresent();
        got.add(p.get().getTopic() + "=" + text(p.get()) + "@" + p.get().getQos().getCode());
      }
      // Delivered at the publisher's QoS (the subscription allows up to 2), in order.
      assertThat(got).containsExactly("qos/0=q0@0", "qos/1=q1@1", "qos/2=q2@2");
    }
  }

  @Test
  void retainedMessagesReachLateSubscribersUntilClearedByAnEmptyPayload() throws Exception {
    Mqtt5BlockingClient pub = v5("retainer");
    pub.connect();
    pub.publishWith()
        .topic("state/door")
        .retain(true)
        .qos(MqttQos.AT_LEAST_ONCE)
        .payload(utf8("open"))
        .send();
    Mqtt5BlockingClient late = v5("late");
    late.connect();
    try (Mqtt5BlockingClient.Mqtt5Publishes in = late.publishes(MqttGlobalPublishFilter.ALL)) {
      late.subscribeWith().topicFilter("state/+").qos(MqttQos.AT_LEAST_ONCE).send();
      Mqtt5Publish p = in.receive(10, TimeUnit.SECONDS).orElseThrow();
      assertThat(text(p)).isEqualTo("open");
      assertThat(p.isRetain()).isTrue();
    }
    pub.publishWith()
        .topic("state/door")
        .retain(true)
        .qos(MqttQos.AT_LEAST_ONCE)
        .payload(new byte[0])
        .send();
    Mqtt5BlockingClient later = v5("later");
    later.connect();
    try (Mqtt5BlockingClient.Mqtt5Publishes in = later.publishes(MqttGlobalPublishFilter.ALL)) {
      later.subscribeWith().topicFilter("state/+").qos(MqttQos.AT_LEAST_ONCE).send();
      pub.publishWith().topic("state/marker").qos(MqttQos.AT_LEAST_ONCE).payload(utf8("m")).send();
      // The first thing the new subscriber sees is the live marker: nothing retained is left.
      assertThat(text(in.receive(10, TimeUnit.SECONDS).orElseThrow())).isEqualTo("m");
    }
  }

  @Test
  void aWillIsPublishedWhenTheClientAsksForIt() throws Exception {
    Mqtt5BlockingClient watcher = v5("watcher");
    watcher.connect();
    try (Mqtt5BlockingClient.Mqtt5Publishes in = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
      watcher.subscribeWith().topicFilter("wills/#").qos(MqttQos.AT_LEAST_ONCE).send();
      Mqtt5BlockingClient dying = v5("dying");
      dying
          .connectWith()
          .willPublish()
          .topic("wills/dying")
          .qos(MqttQos.AT_LEAST_ONCE)
          .payload(utf8("gone"))
          .applyWillPublish()
          .send();
      dying
          .disconnectWith()
          .reasonCode(Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE)
          .send();
      Mqtt5Publish will = in.receive(10, TimeUnit.SECONDS).orElseThrow();
      assertThat(will.getTopic().toString()).isEqualTo("wills/dying");
      assertThat(text(will)).isEqualTo("gone");
    }
  }

  @Test
  void aPersistentSessionKeepsItsMessagesAcrossSigkill() throws Exception {
    Mqtt5BlockingClient sub = v5("durable");
    Mqtt5ConnAck first = sub.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
    assertThat(first.isSessionPresent()).isFalse();
    sub.subscribeWith().topicFilter("orders/#").qos(MqttQos.AT_LEAST_ONCE).send();
    sub.disconnect();

    Mqtt5BlockingClient pub = v5("orders-pub");
    pub.connect();
    for (int i = 0; i < 20; i++) {
      pub.publishWith()
          .topic("orders/" + i)
          .qos(MqttQos.AT_LEAST_ONCE)
          .payload(utf8("o" + i))
          .send();
    }
    pub.disconnect();

    server.killAndRestart();

    Mqtt5BlockingClient back = v5("durable");
    try (Mqtt5BlockingClient.Mqtt5Publishes in = back.publishes(MqttGlobalPublishFilter.ALL)) {
      Mqtt5ConnAck again = back.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
      assertThat(again.isSessionPresent()).isTrue();
      List<String> got = new ArrayList<>();
      while (got.size() < 20) {
        Optional<Mqtt5Publish> p = in.receive(20, TimeUnit.SECONDS);
        assertThat(p).as("message " + got.size()).isPresent();
        got.add(text(p.get()));
      }
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        expected.add("o" + i);
      }
      assertThat(got).isEqualTo(expected);
    }
  }

  @Test
  void aSharedSubscriptionSplitsTheMessagesBetweenItsMembers() throws Exception {
    ConcurrentLinkedQueue<String> a = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> b = new ConcurrentLinkedQueue<>();
    for (var target : List.of(a, b)) {
      var c = v5("member-" + (target == a ? "a" : "b")).toAsync();
      c.connect().get(10, TimeUnit.SECONDS);
      cleanup.add(() -> c.disconnect());
      c.subscribeWith()
          .topicFilter("$share/workers/jobs/#")
          .qos(MqttQos.AT_MOST_ONCE)
          .callback(p -> target.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)))
          .send()
          .get(10, TimeUnit.SECONDS);
    }
    Mqtt5BlockingClient pub = v5("jobs-pub");
    pub.connect();
    for (int i = 0; i < 40; i++) {
      pub.publishWith().topic("jobs/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(utf8("j" + i)).send();
    }
    await().atMost(WAIT).until(() -> a.size() + b.size() == 40);
    Set<String> all = new HashSet<>(a);
    all.addAll(b);
    assertThat(all).hasSize(40);
    assertThat(a).isNotEmpty();
    assertThat(b).isNotEmpty();
  }

  @Test
  void requestResponseWithResponseTopicAndCorrelationData() throws Exception {
    var responder = v5("responder").toAsync();
    responder.connect().get(10, TimeUnit.SECONDS);
    cleanup.add(() -> responder.disconnect());
    responder
        .subscribeWith()
        .topicFilter("svc/upper")
        .qos(MqttQos.AT_LEAST_ONCE)
        .callback(
            req ->
                responder
                    .publishWith()
                    .topic(req.getResponseTopic().orElseThrow())
                    .correlationData(req.getCorrelationData().orElseThrow())
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .payload(text(req).toUpperCase().getBytes(StandardCharsets.UTF_8))
                    .send())
        .send()
        .get(10, TimeUnit.SECONDS);
    Mqtt5BlockingClient requester = v5("requester");
    requester.connect();
    try (Mqtt5BlockingClient.Mqtt5Publishes in = requester.publishes(MqttGlobalPublishFilter.ALL)) {
      requester.subscribeWith().topicFilter("replies/requester").qos(MqttQos.AT_LEAST_ONCE).send();
      requester
          .publishWith()
          .topic("svc/upper")
          .responseTopic("replies/requester")
          .correlationData(utf8("call-7"))
          .qos(MqttQos.AT_LEAST_ONCE)
          .payload(utf8("hello"))
          .send();
      Mqtt5Publish reply = in.receive(10, TimeUnit.SECONDS).orElseThrow();
      assertThat(text(reply)).isEqualTo("HELLO");
      assertThat(StandardCharsets.UTF_8.decode(reply.getCorrelationData().orElseThrow()).toString())
          .isEqualTo("call-7");
    }
  }

  @Test
  void topicAliasesBothWaysKeepTopicsIntact() throws Exception {
    Mqtt5BlockingClient sub = v5("aliased-sub");
    sub.connectWith().restrictions().topicAliasMaximum(4).applyRestrictions().send();
    try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
      sub.subscribeWith().topicFilter("sensors/#").qos(MqttQos.AT_LEAST_ONCE).send();
      Mqtt5BlockingClient pub = v5("aliased-pub");
      // The publisher may alias its topics too (the server allows 64).
      pub.connectWith().restrictions().sendTopicAliasMaximum(8).applyRestrictions().send();
      List<String> sent = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        String topic = "sensors/" + (i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c");
        sent.add(topic + "=" + i);
        pub.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE).payload(utf8("" + i)).send();
      }
      List<String> got = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        Mqtt5Publish p = in.receive(10, TimeUnit.SECONDS).orElseThrow();
        got.add(p.getTopic() + "=" + text(p));
      }
      assertThat(got).isEqualTo(sent);
    }
  }

  @Test
  void aMessageThatExpiresWhileItsSubscriberIsAwayIsNotDelivered() throws Exception {
    Mqtt5BlockingClient sub = v5("expiry-sub");
    sub.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
    sub.subscribeWith().topicFilter("news/#").qos(MqttQos.AT_LEAST_ONCE).send();
    sub.disconnect();
    Mqtt5BlockingClient pub = v5("expiry-pub");
    pub.connect();
    pub.publishWith()
        .topic("news/flash")
        .qos(MqttQos.AT_LEAST_ONCE)
        .messageExpiryInterval(1)
        .payload(utf8("short"))
        .send();
    pub.publishWith().topic("news/story").qos(MqttQos.AT_LEAST_ONCE).payload(utf8("long")).send();
    long expiresAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    await()
        .atMost(WAIT)
        .until(() -> System.nanoTime() > expiresAt + TimeUnit.MILLISECONDS.toNanos(200));
    Mqtt5BlockingClient back = v5("expiry-sub");
    try (Mqtt5BlockingClient.Mqtt5Publishes in = back.publishes(MqttGlobalPublishFilter.ALL)) {
      back.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
      pub.publishWith()
          .topic("news/marker")
          .qos(MqttQos.AT_LEAST_ONCE)
          .payload(utf8("marker"))
          .send();
      List<String> got = new ArrayList<>();
      while (!got.contains("marker")) {
        got.add(text(in.receive(10, TimeUnit.SECONDS).orElseThrow()));
      }
      assertThat(got).containsExactly("long", "marker");
    }
  }
}
