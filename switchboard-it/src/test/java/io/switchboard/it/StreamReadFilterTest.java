package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.Consume;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Messages;
import io.switchboard.protocol.frame.Read;
import io.switchboard.protocol.frame.StoredEntry;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole-stream reads over the native protocol (issue 18): a principal that may read a stream but
 * subscribe to only some of its subjects gets only those — a READ skips the others (its next offset
 * moves past them), READ_SUBJECT and LAST of a forbidden subject are refused, and a consumer that
 * can deliver a forbidden subject is refused (its messages cannot be skipped).
 */
class StreamReadFilterTest {
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
                "10"));
    port = server.addresses().get("native").getPort();
    admin = server.security();
    admin.addUser("reader", "reader-pw", "test");
    admin.addUser("bob", "bob-pw", "test");
    rule(AclRule.Effect.ALLOW, "user:bob", Permission.PUBLISH, ">");
    rule(AclRule.Effect.ALLOW, "user:bob", Permission.ADMIN, ">");
    rule(AclRule.Effect.ALLOW, "user:reader", Permission.CONSUME, "ORDERS.>");
    rule(AclRule.Effect.ALLOW, "user:reader", Permission.SUBSCRIBE, "orders.>");
    rule(AclRule.Effect.DENY, "user:reader", Permission.SUBSCRIBE, "orders.secret.>");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  AclRule rule(AclRule.Effect effect, String who, Permission p, String resource) {
    return admin.addRule(new AclRule("", effect, who, EnumSet.of(p), resource), "t");
  }

  SwitchboardClient as(String user, String password) {
    return SwitchboardClient.connect(
        ClientOptions.of("127.0.0.1", port).withReconnect(false).withCredentials(user, password));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] plain(String user, String password) {
    return utf8("PLAIN \u0000" + user + "\u0000" + password);
  }

  void fill(SwitchboardClient bob) {
    bob.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}");
    bob.publish("orders.1", utf8("a"));
    bob.publish("orders.secret.1", utf8("s"));
    bob.publish("orders.2", utf8("b"));
    bob.publish("orders.secret.2", utf8("s"));
  }

  @Test
  void aReadSkipsTheSubjectsItsPrincipalMayNotSubscribeTo() throws Exception {
    try (SwitchboardClient bob = as("bob", "bob-pw");
        RawConnection reader = new RawConnection(port).handshake(plain("reader", "reader-pw"))) {
      fill(bob);
      long skippedBefore = skipped();
      reader.send(new Read(1, 0, 0L, 1 << 20, 100, "ORDERS"));
      Messages got = (Messages) reader.read();
      assertThat(got.messages())
          .extracting(StoredEntry::subject)
          .containsExactly("orders.1", "orders.2");
      assertThat(got.nextOffset()).isEqualTo(4); // past the skipped ones too
      assertThat(skipped() - skippedBefore).isEqualTo(2);
      // the rules change under the open connection: the next read sees it
      AclRule all = rule(AclRule.Effect.ALLOW, "user:reader", Permission.SUBSCRIBE, "orders.*.*");
      rule(AclRule.Effect.DENY, "user:reader", Permission.SUBSCRIBE, "orders.2");
      reader.send(new Read(2, 0, 0L, 1 << 20, 100, "ORDERS"));
      assertThat(((Messages) reader.read()).messages())
          .extracting(StoredEntry::subject)
          .containsExactly("orders.1");
      admin.removeRule(all.id(), "t");
    }
  }

  @Test
  void aReadOfOneForbiddenSubjectIsRefused() {
    try (SwitchboardClient bob = as("bob", "bob-pw");
        SwitchboardClient reader = as("reader", "reader-pw")) {
      fill(bob);
      assertThat(reader.readSubject("ORDERS", "orders.1", 0, 10).messages()).hasSize(1);
      assertThatThrownBy(() -> reader.readSubject("ORDERS", "orders.secret.1", 0, 10))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED);
                assertThat(e.getMessage()).contains("may not subscribe orders.secret.1");
              });
      assertThatThrownBy(() -> reader.last("ORDERS", "orders.secret.2"))
          .hasMessageContaining("may not subscribe orders.secret.2");
    }
  }

  @Test
  void aConsumerThatCanDeliverAForbiddenSubjectIsRefusedAFilteredOneIsNot() throws Exception {
    try (SwitchboardClient bob = as("bob", "bob-pw");
        SwitchboardClient reader = as("reader", "reader-pw")) {
      fill(bob);
      bob.admin(Admin.Op.CONSUMER_CREATE, "{\"stream\":\"ORDERS\",\"config\":{\"name\":\"all\"}}");
      bob.admin(
          Admin.Op.CONSUMER_CREATE,
          "{\"stream\":\"ORDERS\",\"config\":{\"name\":\"open\",\"filter\":\"orders.*\"}}");
      assertThatThrownBy(() -> reader.fetch("ORDERS", "all", null, 10, 0))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED);
                assertThat(e.getMessage()).contains("every subject of ORDERS's consumer all");
              });
      assertThat(reader.fetch("ORDERS", "open", null, 10, 5_000))
          .extracting(d -> d.subject())
          .containsExactly("orders.1", "orders.2");
    }
    try (RawConnection raw = new RawConnection(port).handshake(plain("reader", "reader-pw"))) {
      raw.send(new Consume(7, 1, 10, "ORDERS", "all", null));
      Frame f = raw.read();
      assertThat(f).isInstanceOf(ErrorFrame.class);
      assertThat(((ErrorFrame) f).errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED);
    }
  }

  long skipped() {
    return server.security().skippedReads();
  }

  @Test
  void withoutRulesEverythingIsRead() {
    admin.addRule(
        new AclRule("", AclRule.Effect.ALLOW, "user:reader", EnumSet.of(Permission.SUBSCRIBE), ">"),
        "t");
    try (SwitchboardClient bob = as("bob", "bob-pw");
        SwitchboardClient reader = as("reader", "reader-pw")) {
      fill(bob);
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () ->
                  assertThat(reader.readSubject("ORDERS", "orders.2", 0, 10).messages())
                      .hasSize(1));
    }
  }
}
