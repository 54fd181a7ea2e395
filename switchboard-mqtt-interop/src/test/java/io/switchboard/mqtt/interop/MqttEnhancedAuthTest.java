package io.switchboard.mqtt.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MQTT 5 enhanced authentication with SCRAM (issue 18) from the HiveMQ client, whose mechanism
 * ({@link ScramAuthMechanism}) is built from the JDK alone, against the server started from the
 * command line's jar with {@code auth.required=true} and a user added by {@code switchboard user
 * add}: both hashes log in and the server's signature verifies; a wrong password and an unknown
 * user get the same CONNACK 0x87; a method the server does not offer gets 0x8C; a re-authentication
 * (AUTH 0x19) proves the user again on the open connection.
 */
class MqttEnhancedAuthTest {
  @TempDir static Path dir;
  static SwitchboardProcess server;

  @BeforeAll
  static void start() throws Exception {
    Path data = dir.resolve("data");
    SwitchboardProcess.cli(
        "alice-pw\n", "user", "add", "alice", "--data", data.toString(), "--password-stdin");
    server =
        SwitchboardProcess.start(data, List.of("auth.required=true", "auth.failure-delay-ms=50"));
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  static Mqtt5BlockingClient client(String id, ScramAuthMechanism auth) {
    var b =
        Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.mqttPort);
    return (auth == null ? b : b.enhancedAuth(auth)).buildBlocking();
  }

  @ParameterizedTest
  @ValueSource(strings = {"SCRAM-SHA-256", "SCRAM-SHA-512"})
  void theClientLogsInWithScramAndVerifiesTheServer(String method) throws Exception {
    ScramAuthMechanism auth = new ScramAuthMechanism(method, "alice", "alice-pw");
    Mqtt5BlockingClient c = client("scram-" + method, auth);
    c.connect();
    try {
      assertThat(auth.verified).hasValue(1);
      try (Mqtt5BlockingClient.Mqtt5Publishes in = c.publishes(MqttGlobalPublishFilter.ALL)) {
        c.subscribeWith().topicFilter("scram/#").qos(MqttQos.AT_LEAST_ONCE).send();
        c.publishWith()
            .topic("scram/" + method)
            .qos(MqttQos.AT_LEAST_ONCE)
            .payload("hi".getBytes(StandardCharsets.UTF_8))
            .send();
        Optional<Mqtt5Publish> got = in.receive(20, TimeUnit.SECONDS);
        assertThat(got).isPresent();
        assertThat(got.get().getTopic().toString()).isEqualTo("scram/" + method);
      }
    } finally {
      c.disconnect();
    }
  }

  @Test
  void withoutCredentialsTheServerRefuses() {
    Mqtt5ConnAckException e =
        catchThrowableOfType(
            Mqtt5ConnAckException.class, () -> client("anonymous", null).connect());
    assertThat(e.getMqttMessage().getReasonCode()).isEqualTo(Mqtt5ConnAckReasonCode.NOT_AUTHORIZED);
  }

  @Test
  void aWrongPasswordAndAnUnknownUserGetTheSameRefusal() {
    Mqtt5ConnAckException wrong =
        catchThrowableOfType(
            Mqtt5ConnAckException.class,
            () ->
                client("wrong", new ScramAuthMechanism("SCRAM-SHA-256", "alice", "nope"))
                    .connect());
    Mqtt5ConnAckException unknown =
        catchThrowableOfType(
            Mqtt5ConnAckException.class,
            () ->
                client("unknown", new ScramAuthMechanism("SCRAM-SHA-256", "mallory", "nope"))
                    .connect());
    assertThat(wrong.getMqttMessage().getReasonCode())
        .isEqualTo(Mqtt5ConnAckReasonCode.NOT_AUTHORIZED);
    assertThat(unknown.getMqttMessage().getReasonCode())
        .isEqualTo(Mqtt5ConnAckReasonCode.NOT_AUTHORIZED);
  }

  @Test
  void aMethodTheServerDoesNotOfferIsABadAuthenticationMethod() {
    Mqtt5ConnAckException e =
        catchThrowableOfType(
            Mqtt5ConnAckException.class,
            () ->
                client("sha1", new ScramAuthMechanism("SCRAM-SHA-1", "alice", "alice-pw"))
                    .connect());
    assertThat(e.getMqttMessage().getReasonCode())
        .isEqualTo(Mqtt5ConnAckReasonCode.BAD_AUTHENTICATION_METHOD);
  }

  @Test
  void aReAuthenticationProvesTheUserAgainOnTheOpenConnection() {
    ScramAuthMechanism auth = new ScramAuthMechanism("SCRAM-SHA-256", "alice", "alice-pw");
    Mqtt5BlockingClient c = client("reauth", auth);
    c.connect();
    try {
      c.reauth();
      assertThat(auth.verified).hasValue(2);
      assertThat(c.getState().isConnected()).isTrue();
      c.publishWith().topic("after/reauth").qos(MqttQos.AT_LEAST_ONCE).send();
    } finally {
      c.disconnect();
    }
  }
}
