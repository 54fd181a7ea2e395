package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT with authentication required and rules that deny by default (issue 18), through Eclipse Paho
 * 3.1.1 and 5: CONNACK refusals, SUBACK 0x80 / 0x87 for a forbidden filter, PUBACK 0x87 for a
 * forbidden publish, and wildcard subscriptions that never see a forbidden topic.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MqttSecurityTest {
  @TempDir Path dir;
  SwitchboardServer server;
  int port;

  @BeforeEach
  void start() throws Exception {
    Map<String, String> flags = new HashMap<>();
    flags.put(ConfigCatalogue.DATA_DIR.name(), dir.toString());
    flags.put(NativeKeys.PORT.name(), "-1");
    flags.put(MqttFrontEnd.PORT.name(), "0");
    flags.put("auth.required", "true");
    flags.put("acl.default", "deny");
    flags.put("auth.failure-delay-ms", "10");
    server = SwitchboardServer.startOnFreePorts(flags);
    port = server.addresses().get("mqtt").getPort();
    SecurityAdmin admin = server.security();
    admin.addUser("alice", "alice-pw", "test");
    rule(admin, AclRule.Effect.ALLOW, Permission.PUBLISH, "orders.>");
    rule(admin, AclRule.Effect.ALLOW, Permission.SUBSCRIBE, "orders.>");
    rule(admin, AclRule.Effect.DENY, Permission.SUBSCRIBE, "orders.secret");
  }

  static void rule(SecurityAdmin admin, AclRule.Effect e, Permission p, String resource) {
    admin.addRule(new AclRule("", e, "user:alice", EnumSet.of(p), resource), "test");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  String uri() {
    return "tcp://127.0.0.1:" + port;
  }

  MqttClient v3(String id, String user, String password) throws MqttException {
    MqttClient c = new MqttClient(uri(), id, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(true);
    if (user != null) {
      o.setUserName(user);
      o.setPassword(password.toCharArray());
    }
    c.connect(o);
    return c;
  }

  org.eclipse.paho.mqttv5.client.MqttClient v5(String id, String user, String password)
      throws org.eclipse.paho.mqttv5.common.MqttException {
    var c =
        new org.eclipse.paho.mqttv5.client.MqttClient(
            uri(), id, new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
    var o = new org.eclipse.paho.mqttv5.client.MqttConnectionOptions();
    if (user != null) {
      o.setUserName(user);
      o.setPassword(password.getBytes(StandardCharsets.UTF_8));
    }
    c.connect(o);
    return c;
  }

  @Test
  void connectIsRefusedWithTheProtocolsOwnCodes() {
    // 3.1.1: 0x05 not authorized (no credentials), 0x04 bad user name or password
    assertThat(catchThrowableOfType(MqttException.class, () -> v3("a", null, null)).getReasonCode())
        .isEqualTo(5);
    assertThat(
            catchThrowableOfType(MqttException.class, () -> v3("b", "alice", "wrong"))
                .getReasonCode())
        .isEqualTo(4);
    assertThat(
            catchThrowableOfType(MqttException.class, () -> v3("c", "nobody", "wrong"))
                .getReasonCode())
        .isEqualTo(4);
    // 5.0: 0x87 not authorized, 0x86 bad user name or password
    assertThat(
            catchThrowableOfType(
                    org.eclipse.paho.mqttv5.common.MqttException.class, () -> v5("d", null, null))
                .getReasonCode())
        .isEqualTo(0x87);
    assertThat(
            catchThrowableOfType(
                    org.eclipse.paho.mqttv5.common.MqttException.class,
                    () -> v5("e", "alice", "wrong"))
                .getReasonCode())
        .isEqualTo(0x86);
  }

  @Test
  void aForbiddenFilterGetsSubackFailureAndWildcardsAreFiltered() throws Exception {
    MqttClient sub = v3("sub", "alice", "alice-pw");
    var refused = sub.subscribeWithResponse(new String[] {"payments/#"}, new int[] {1});
    assertThat(refused.getGrantedQos()).containsExactly(0x80);
    ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
    sub.subscribe("orders/#", 0, (topic, m) -> got.add(topic));
    MqttClient pub = v3("pub", "alice", "alice-pw");
    pub.publish("orders/secret", "s".getBytes(StandardCharsets.UTF_8), 0, false);
    pub.publish("orders/open", "o".getBytes(StandardCharsets.UTF_8), 0, false);
    // 3.1.1 cannot refuse a publish: acknowledged and dropped
    pub.publish("payments/x", "p".getBytes(StandardCharsets.UTF_8), 1, false);
    pub.publish("orders/done", "d".getBytes(StandardCharsets.UTF_8), 0, false);
    await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("orders/done"));
    assertThat(got).containsExactly("orders/open", "orders/done");
    pub.disconnect();
    sub.disconnect();
  }

  @Test
  void v5SaysNotAuthorizedInSubackAndPuback() throws Exception {
    var c = v5("v5", "alice", "alice-pw");
    var token =
        c.subscribe(
            new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
              new org.eclipse.paho.mqttv5.common.MqttSubscription("payments/#", 1)
            },
            new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {(t, m) -> {}});
    assertThat(token.getReasonCodes()).containsExactly(0x87);
    c.disconnect();
    var async =
        new org.eclipse.paho.mqttv5.client.MqttAsyncClient(
            uri(), "v5-pub", new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
    var o = new org.eclipse.paho.mqttv5.client.MqttConnectionOptions();
    o.setUserName("alice");
    o.setPassword("alice-pw".getBytes(StandardCharsets.UTF_8));
    async.connect(o).waitForCompletion(10_000);
    // QoS 1 by default: a refusal comes back as PUBACK 0x87
    var published =
        async.publish("payments/x", new org.eclipse.paho.mqttv5.common.MqttMessage(new byte[] {1}));
    int reason;
    try {
      published.waitForCompletion(10_000);
      reason = published.getReasonCodes()[0];
    } catch (org.eclipse.paho.mqttv5.common.MqttException e) {
      reason = e.getReasonCode();
    }
    assertThat(reason).isEqualTo(0x87);
    var allowed =
        async.publish("orders/x", new org.eclipse.paho.mqttv5.common.MqttMessage(new byte[] {1}));
    allowed.waitForCompletion(10_000);
    assertThat(allowed.getReasonCodes()).containsExactly(0);
    async.disconnect().waitForCompletion(10_000);
    async.close();
  }
}
