package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * AMQP logins checked by the security service (PLAIN, as RabbitMQ's clients send it) and every
 * declare, bind, publish and consume decided by the rules (docs/amqp.md "Security"), on a server
 * that requires authentication and denies by default: refusals are RabbitMQ's 403 ACCESS_REFUSED,
 * on the channel.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpSecurityTest {
  @TempDir Path dir;
  SwitchboardServer server;
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
    admin = server.security();
    admin.addUser("ops", "ops-pw", "test");
    admin.addUser("app", "app-pw", "test");
    rule("user:ops", Permission.ADMIN, ">");
    rule("user:ops", Permission.ADMIN, "$AMQP.queue.>");
    rule("user:ops", Permission.SUBSCRIBE, ">");
    rule("user:app", Permission.PUBLISH, "orders.>");
    rule("user:app", Permission.PUBLISH, "$AMQP.queue.orders");
    rule("user:app", Permission.CONSUME, "$AMQP.queue.orders");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void rule(String who, Permission p, String resource) {
    admin.addRule(new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), resource), "test");
  }

  Connection as(String user, String password) throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    f.setUsername(user);
    f.setPassword(password);
    return f.newConnection();
  }

  @Test
  void aWrongPasswordAndAnUnknownUserAreRefusedAlike() {
    assertThatThrownBy(() -> as("app", "wrong"))
        .isInstanceOf(AuthenticationFailureException.class)
        .hasMessageContaining("ACCESS_REFUSED");
    assertThatThrownBy(() -> as("nobody", "x"))
        .isInstanceOf(AuthenticationFailureException.class)
        .hasMessageContaining("ACCESS_REFUSED");
    assertThatThrownBy(() -> as("guest", "guest"))
        .isInstanceOf(AuthenticationFailureException.class);
  }

  @Test
  void theRulesDecideDeclaresPublishesAndConsumes() throws Exception {
    try (Connection ops = as("ops", "ops-pw")) {
      Channel ch = ops.createChannel();
      ch.exchangeDeclare("orders", "topic", true);
      ch.queueDeclare("orders", true, false, false, null);
      ch.queueBind("orders", "orders", "eu.#");
      ch.queueDeclare("payroll", true, false, false, null);
    }
    try (Connection app = as("app", "app-pw")) {
      Channel ch = app.createChannel();
      ch.confirmSelect();
      ch.basicPublish("orders", "eu.paris", null, "allowed".getBytes(StandardCharsets.UTF_8));
      assertThat(ch.waitForConfirms(10_000)).isTrue();
      GetResponse got = null;
      for (int i = 0; i < 100 && got == null; i++) {
        got = ch.basicGet("orders", true);
      }
      assertThat(got).isNotNull();
      assertThat(new String(got.getBody(), StandardCharsets.UTF_8)).isEqualTo("allowed");

      // Not allowed: declaring, consuming another queue, publishing elsewhere — each closes the
      // channel with 403, the connection carries on.
      Channel declare = app.createChannel();
      assertThatThrownBy(() -> declare.queueDeclare("mine", true, false, false, null))
          .isInstanceOf(IOException.class)
          .hasStackTraceContaining("ACCESS_REFUSED");
      Channel consume = app.createChannel();
      assertThatThrownBy(() -> consume.basicGet("payroll", true))
          .isInstanceOf(IOException.class)
          .hasStackTraceContaining("ACCESS_REFUSED");
      Channel publish = app.createChannel();
      publish.confirmSelect();
      publish.basicPublish("amq.topic", "hr.salaries", null, new byte[] {1});
      assertThatThrownBy(() -> publish.waitForConfirmsOrDie(10_000))
          .hasStackTraceContaining("ACCESS_REFUSED");
      assertThat(app.isOpen()).isTrue();
    }
  }

  /**
   * basic.consume counts against the principal's consumer quota (issue 18): past it the channel is
   * closed with RabbitMQ's code for a consumer limit (530 NOT_ALLOWED), the connection carries on,
   * and a cancelled consumer gives its place back.
   */
  @Test
  void basicConsumePastTheConsumerQuotaClosesTheChannelAndACancelGivesThePlaceBack()
      throws Exception {
    try (Connection ops = as("ops", "ops-pw")) {
      ops.createChannel().queueDeclare("orders", true, false, false, null);
    }
    admin.setQuota(
        "user:app", io.switchboard.spi.security.QuotaLimits.fromMap(Map.of("consumers", 1L)), "t");
    try (Connection app = as("app", "app-pw")) {
      Channel first = app.createChannel();
      String tag =
          first.basicConsume("orders", true, new com.rabbitmq.client.DefaultConsumer(first));
      Channel second = app.createChannel();
      assertThatThrownBy(
              () ->
                  second.basicConsume(
                      "orders", true, new com.rabbitmq.client.DefaultConsumer(second)))
          .isInstanceOf(IOException.class)
          .cause()
          .hasMessageContaining("reply-code=530")
          .hasMessageContaining("reached maximum (1) of consumers for user:app");
      assertThat(app.isOpen()).isTrue();
      first.basicCancel(tag);
      Channel third = app.createChannel();
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(10))
          .until(
              () ->
                  server
                          .security()
                          .quotas()
                          .meter(io.switchboard.spi.security.Principal.user("app"))
                          .consumers()
                      == 0);
      third.basicConsume("orders", true, new com.rabbitmq.client.DefaultConsumer(third));
      // closing the connection gives back what it still holds
    }
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () ->
                server
                        .security()
                        .quotas()
                        .meter(io.switchboard.spi.security.Principal.user("app"))
                        .consumers()
                    == 0);
  }
}
