package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.cli.SecurityCliTest.Result;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import io.switchboard.testkit.Ports;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code switchboard user|acl|quota --server}: the same commands acting on a running server through
 * its HTTP admin API, logged in with {@code --user --password-stdin}, {@code $SWITCHBOARD_USER} and
 * {@code $SWITCHBOARD_PASSWORD}; refusals and an unreachable server get their exit codes (issue
 * 18).
 */
class SecurityServerCliTest {
  @TempDir Path dir;
  SwitchboardServer server;
  SecurityAdmin store;
  String url;

  static final String SECRET = "an-hmac-secret-of-at-least-32-bytes!!";

  static final Map<String, String> ADMIN_ENV =
      Map.of("SWITCHBOARD_USER", "admin", "SWITCHBOARD_PASSWORD", "admin-pw");

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data").toString(),
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.failure-delay-ms",
                "10",
                "auth.jwt.secret",
                SECRET));
    store = server.security();
    store.addUser("admin", "admin-pw", "test");
    store.addUser("reader", "reader-pw", "test");
    store.addRule(
        new AclRule("", AclRule.Effect.ALLOW, "user:admin", EnumSet.of(Permission.ADMIN), ">"),
        "test");
    store.addRule(
        new AclRule("", AclRule.Effect.ALLOW, "token:ops", EnumSet.of(Permission.ADMIN), ">"),
        "test");
    url = "http://127.0.0.1:" + server.addresses().get("http").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  static Map<String, String> login(String user, String password) {
    return Map.of("SWITCHBOARD_USER", user, "SWITCHBOARD_PASSWORD", password);
  }

  static Result run(Map<String, String> env, String stdin, String... args) {
    return SecurityCliTest.run(env, stdin, args);
  }

  @Test
  void usersAreManagedOnTheRunningServer() {
    // two lines: the admin's password (the login), then the new user's
    Result added =
        run(
            Map.of(),
            "admin-pw\nbob-pw\n",
            "user",
            "add",
            "bob",
            "--server",
            url,
            "--user",
            "admin",
            "--password-stdin");
    assertThat(added.code()).as(added.err()).isZero();
    assertThat(added.out()).isEqualTo("added user bob\n");
    assertThat(store.users()).contains("bob");

    Result ls = run(ADMIN_ENV, "", "user", "ls", "--server", url);
    assertThat(ls.out()).isEqualTo("admin\nbob\nreader\n");

    // the login from the environment, the new password from standard input
    Result passwd = run(ADMIN_ENV, "bob-new\n", "user", "passwd", "bob", "--server", url);
    assertThat(passwd.code()).as(passwd.err()).isZero();
    // bob logs in with the new password (and is refused the admin call), not with the old one
    assertThat(run(login("bob", "bob-new"), "", "user", "ls", "--server", url).err())
        .contains("PERMISSION_DENIED");
    assertThat(run(login("bob", "bob-pw"), "", "user", "ls", "--server", url).err())
        .contains("AUTHENTICATION_FAILED");

    Result rm = run(ADMIN_ENV, "", "user", "rm", "bob", "--server", url);
    assertThat(rm.code()).isZero();
    assertThat(store.users()).doesNotContain("bob");

    Result missing = run(ADMIN_ENV, "", "user", "rm", "bob", "--server", url);
    assertThat(missing.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(missing.err()).startsWith("[21 USER_NOT_FOUND]").contains("bob");
  }

  @Test
  void rulesAndQuotasAreManagedOnTheRunningServer() {
    Result added =
        run(
            ADMIN_ENV,
            "",
            "acl",
            "add",
            "allow",
            "user:reader",
            "--permissions",
            "subscribe,consume",
            "--resource",
            "orders.>",
            "--server",
            url);
    assertThat(added.code()).as(added.err()).isZero();
    AclRule stored =
        store.rules().stream().filter(r -> r.principal().equals("user:reader")).findFirst().get();
    assertThat(stored.permissions())
        .containsExactlyInAnyOrder(Permission.SUBSCRIBE, Permission.CONSUME);
    assertThat(added.out()).isEqualTo("added rule " + AclCommand.describe(stored) + "\n");
    assertThat(run(ADMIN_ENV, "", "acl", "ls", "--server", url).out())
        .contains(AclCommand.describe(stored));
    assertThat(run(ADMIN_ENV, "", "acl", "rm", stored.id(), "--server", url).code()).isZero();
    assertThat(store.rules()).noneMatch(r -> r.id().equals(stored.id()));

    Result set =
        run(
            ADMIN_ENV,
            "",
            "quota",
            "set",
            "user:reader",
            "publish-bytes=1000",
            "connections=2",
            "--server",
            url);
    assertThat(set.code()).as(set.err()).isZero();
    assertThat(store.storedQuotas().get("user:reader").asMap())
        .containsEntry("publish-bytes", 1000L)
        .containsEntry("connections", 2L);
    assertThat(run(ADMIN_ENV, "", "quota", "ls", "--server", url).out())
        .isEqualTo("user:reader publish-bytes=1000 connections=2\n");
    assertThat(run(ADMIN_ENV, "", "quota", "rm", "user:reader", "--server", url).code()).isZero();
    assertThat(store.storedQuotas()).doesNotContainKey("user:reader");
  }

  @Test
  void refusalsAndAnUnreachableServerGetTheirExitCodes() throws Exception {
    Result wrong =
        run(
            Map.of("SWITCHBOARD_USER", "admin", "SWITCHBOARD_PASSWORD", "nope"),
            "",
            "user",
            "ls",
            "--server",
            url);
    assertThat(wrong.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(wrong.err()).contains("AUTHENTICATION_FAILED");

    Result notAdmin =
        run(
            Map.of("SWITCHBOARD_USER", "reader", "SWITCHBOARD_PASSWORD", "reader-pw"),
            "",
            "acl",
            "ls",
            "--server",
            url);
    assertThat(notAdmin.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(notAdmin.err()).contains("PERMISSION_DENIED");
    assertThat(store.users()).containsExactly("admin", "reader"); // nothing changed

    Result anonymous = run(Map.of(), "", "user", "ls", "--server", url);
    assertThat(anonymous.code()).isEqualTo(ExitCodes.REFUSED);

    int closed = Ports.free();
    Result unreachable = run(ADMIN_ENV, "", "user", "ls", "--server", "127.0.0.1:" + closed);
    assertThat(unreachable.code()).isEqualTo(ExitCodes.CANNOT_CONNECT);
    assertThat(unreachable.err()).contains("cannot reach");

    Result both = run(ADMIN_ENV, "", "user", "ls", "--server", url, "--data", dir.toString());
    assertThat(both.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(both.err()).contains("--data or --server");

    Result offlineLogin =
        run(Map.of(), "", "user", "ls", "--user", "admin", "--data", dir.toString());
    assertThat(offlineLogin.code()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void aTokenLogsInToo() throws Exception {
    Result r = run(Map.of(), "", "user", "ls", "--server", url, "--token", jwt("ops"));
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).isEqualTo("admin\nreader\n");
    Result env = run(Map.of("SWITCHBOARD_TOKEN", jwt("ops")), "", "user", "ls", "--server", url);
    assertThat(env.out()).isEqualTo("admin\nreader\n");
    Result forged = run(Map.of(), "", "user", "ls", "--server", url, "--token", jwt("ops") + "x");
    assertThat(forged.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(forged.err()).contains("AUTHENTICATION_FAILED");
  }

  /** An HS256 JWT for {@code subject}, valid for a minute. */
  static String jwt(String subject) throws Exception {
    java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
    String header = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes());
    long exp = System.currentTimeMillis() / 1000 + 60;
    String claims =
        b64.encodeToString(("{\"sub\":\"" + subject + "\",\"exp\":" + exp + "}").getBytes());
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new javax.crypto.spec.SecretKeySpec(SECRET.getBytes(), "HmacSHA256"));
    return header
        + "."
        + claims
        + "."
        + b64.encodeToString(mac.doFinal((header + "." + claims).getBytes()));
  }
}
