package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Date;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native front end with authentication required and rules that deny by default (issue 18):
 * HELLO credentials (PLAIN, BEARER), refusals with their codes, wildcard subscriptions filtered,
 * and revocations applying to open connections.
 */
class NativeSecurityTest {
  static final String SECRET = "an-hmac-secret-of-at-least-32-bytes!!";

  @TempDir Path dir;
  SwitchboardServer server;
  SecurityAdmin admin;
  int port;

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
                "auth.jwt.secret",
                SECRET));
    port = server.addresses().get("native").getPort();
    admin = server.security();
    admin.addUser("alice", "alice-pw", "test");
    admin.addUser("bob", "bob-pw", "test");
    allow("user:alice", Permission.PUBLISH, "orders.>");
    allow("user:alice", Permission.SUBSCRIBE, ">");
    deny("*", Permission.SUBSCRIBE, "secret.>");
    allow("user:bob", Permission.PUBLISH, ">");
    allow("user:bob", Permission.ADMIN, ">");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  AclRule allow(String who, Permission p, String resource) {
    return admin.addRule(new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), resource), "t");
  }

  void deny(String who, Permission p, String resource) {
    admin.addRule(new AclRule("", AclRule.Effect.DENY, who, EnumSet.of(p), resource), "t");
  }

  SwitchboardClient as(String user, String password) {
    return SwitchboardClient.connect(
        ClientOptions.of("127.0.0.1", port).withReconnect(false).withCredentials(user, password));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aHelloWithoutACredentialOrWithAWrongOneIsRefused() {
    assertThatThrownBy(
            () ->
                SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port).withReconnect(false)))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_REQUIRED));
    SwitchboardClientException wrong =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            SwitchboardClientException.class, () -> as("alice", "nope"));
    SwitchboardClientException unknown =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            SwitchboardClientException.class, () -> as("mallory", "nope"));
    assertThat(wrong.errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
    assertThat(unknown.getMessage()).isEqualTo(wrong.getMessage());
  }

  @Test
  void publishesAreCheckedAndRefusalsCarryTheirCode() {
    try (SwitchboardClient alice = as("alice", "alice-pw")) {
      alice.publish("orders.1", utf8("ok"));
      assertThatThrownBy(() -> alice.publish("payments.1", utf8("no")))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED);
                assertThat(e.getMessage()).contains("user:alice may not publish payments.1");
              });
      // the connection carries on after a refusal
      alice.publish("orders.2", utf8("ok"));
      assertThatThrownBy(() -> alice.admin(Admin.Op.STREAM_LIST, "{}"))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED));
    }
  }

  @Test
  void aWildcardSubscriptionNeverReceivesWhatItsPrincipalMayNotRead() {
    try (SwitchboardClient alice = as("alice", "alice-pw");
        SwitchboardClient bob = as("bob", "bob-pw")) {
      assertThatThrownBy(() -> alice.subscribe("secret.*", m -> {}))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED));
      ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
      alice.subscribe(">", m -> got.add(m.subject()));
      bob.publish("secret.plans", utf8("s"));
      bob.publish("orders.9", utf8("o"));
      bob.publish("secret.more.plans", utf8("s"));
      bob.publish("done", utf8("d"));
      await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("done"));
      assertThat(got).containsExactly("orders.9", "done");
    }
  }

  @Test
  void revokedRulesAndRemovedUsersApplyToOpenConnections() {
    try (SwitchboardClient bob = as("bob", "bob-pw")) {
      bob.publish("anything", utf8("1"));
      AclRule extra = allow("user:bob", Permission.REQUEST, "svc.>");
      deny("user:bob", Permission.PUBLISH, "anything");
      assertThatThrownBy(() -> bob.publish("anything", utf8("2")))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED));
      bob.publish("else", utf8("3"));
      admin.removeRule(extra.id(), "t");
      admin.removeUser("bob", "test");
      assertThatThrownBy(() -> bob.publish("else", utf8("4")))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED));
    }
  }

  @Test
  void aBearerTokenLogsInAsItsSubject() throws Exception {
    allow("token:svc-billing", Permission.PUBLISH, "billing.>");
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder()
                .subject("svc-billing")
                .expirationTime(new Date(System.currentTimeMillis() + 60_000))
                .build());
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    try (SwitchboardClient svc =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", port).withReconnect(false).withToken(jwt.serialize()))) {
      svc.publish("billing.invoice", utf8("ok"));
      assertThatThrownBy(() -> svc.publish("orders.1", utf8("no")))
          .hasMessageContaining("token:svc-billing may not publish orders.1");
    }
    assertThatThrownBy(
            () ->
                SwitchboardClient.connect(
                    ClientOptions.of("127.0.0.1", port)
                        .withReconnect(false)
                        .withToken(jwt.serialize() + "x")))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED));
  }

  @Test
  void consumersAreAdministeredAndReadByName() {
    try (SwitchboardClient alice = as("alice", "alice-pw");
        SwitchboardClient bob = as("bob", "bob-pw")) {
      bob.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}");
      String billing = "{\"stream\":\"ORDERS\",\"config\":{\"name\":\"billing\"}}";
      assertThatThrownBy(() -> alice.admin(Admin.Op.CONSUMER_CREATE, billing))
          .hasMessageContaining("user:alice may not admin ORDERS.billing");
      bob.admin(Admin.Op.CONSUMER_CREATE, billing);
      alice.publish("orders.1", utf8("o"));
      assertThatThrownBy(() -> alice.fetch("ORDERS", "billing", null, 1, 0))
          .hasMessageContaining("user:alice may not consume ORDERS.billing");
      allow("user:alice", Permission.CONSUME, "ORDERS.billing");
      assertThat(alice.fetch("ORDERS", "billing", null, 1, 5_000)).hasSize(1);
      assertThatThrownBy(() -> alice.last("ORDERS", "orders.1"))
          .hasMessageContaining("user:alice may not consume ORDERS.$read");
    }
  }
}
