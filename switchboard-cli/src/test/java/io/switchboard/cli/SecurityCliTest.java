package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code switchboard user} and {@code acl} on a data directory, picked up by a running server, and
 * client commands logging in with {@code --user --password-stdin} (issue 18).
 */
class SecurityCliTest {
  @TempDir Path dir;

  record Result(int code, String out, String err) {}

  static Result run(Map<String, String> env, String stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
    CommandLine cli = new CommandLine(new SwitchboardCli(env, in));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void usersAndRulesAreManagedOfflineAndUsedByARunningServer() throws Exception {
    Path data = dir.resolve("data");
    String d = data.toString();
    assertThat(
            run(Map.of(), "s3cret\n", "user", "add", "alice", "--password-stdin", "--data", d)
                .code())
        .isZero();
    assertThat(run(Map.of(), "", "user", "ls", "--data", d).out()).isEqualTo("alice\n");
    Result dup = run(Map.of(), "x\n", "user", "add", "alice", "--password-stdin", "--data", d);
    assertThat(dup.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(dup.err()).contains("already exists");
    assertThat(Files.readString(data.resolve("security/users.json"))).doesNotContain("s3cret");
    Result added =
        run(
            Map.of(),
            "",
            "acl",
            "add",
            "allow",
            "user:alice",
            "--permissions",
            "publish",
            "--resource",
            "orders.>",
            "--data",
            d);
    assertThat(added.code()).isZero();
    assertThat(run(Map.of(), "", "acl", "ls", "--data", d).out())
        .isEqualTo("1 allow user:alice publish orders.>\n");
    assertThat(
            run(
                    Map.of(),
                    "",
                    "acl",
                    "add",
                    "maybe",
                    "user:alice",
                    "--permissions",
                    "publish",
                    "--resource",
                    "x",
                    "--data",
                    d)
                .code())
        .isEqualTo(ExitCodes.REFUSED);

    try (SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                d,
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.failure-delay-ms",
                "10",
                "security.reload-check-ms",
                "100"))) {
      String address = "127.0.0.1:" + server.addresses().get("native").getPort();
      Result ok =
          run(
              Map.of(),
              "s3cret\nhello\n",
              "pub",
              "orders.1",
              "--server",
              address,
              "--user",
              "alice",
              "--password-stdin");
      assertThat(ok.code()).as(ok.err()).isZero();
      Result denied =
          run(
              Map.of("SWITCHBOARD_USER", "alice", "SWITCHBOARD_PASSWORD", "s3cret"),
              "",
              "pub",
              "payments.1",
              "x",
              "--server",
              address);
      assertThat(denied.code()).isEqualTo(ExitCodes.REFUSED);
      assertThat(denied.err()).contains("PERMISSION_DENIED");
      Result wrong =
          run(
              Map.of(),
              "nope\n",
              "pub",
              "orders.1",
              "x",
              "--server",
              address,
              "--user",
              "alice",
              "--password-stdin");
      assertThat(wrong.code()).isEqualTo(ExitCodes.REFUSED);
      assertThat(wrong.err()).contains("AUTHENTICATION_FAILED");
      // a rule removed offline reaches the running server within the check period
      assertThat(run(Map.of(), "", "acl", "rm", "1", "--data", d).code()).isZero();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  run(
                              Map.of("SWITCHBOARD_USER", "alice", "SWITCHBOARD_PASSWORD", "s3cret"),
                              "",
                              "pub",
                              "orders.2",
                              "x",
                              "--server",
                              address)
                          .code()
                      == ExitCodes.REFUSED);
    }
  }

  @Test
  void everyConnectionOfABenchLogsIn() throws Exception {
    try (SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("bench").toString(),
                "auth.required",
                "true"))) {
      server.security().addUser("bench", "b-pw", "test");
      String address = "127.0.0.1:" + server.addresses().get("native").getPort();
      Result r =
          run(
              Map.of("SWITCHBOARD_USER", "bench", "SWITCHBOARD_PASSWORD", "b-pw"),
              "",
              "bench",
              "--server",
              address,
              "--mode",
              "pubsub",
              "--publishers",
              "2",
              "--rate",
              "1000",
              "--duration",
              "1s",
              "--warmup",
              "0s");
      assertThat(r.code()).as(r.err()).isZero();
    }
  }

  @Test
  void quotasAreManagedOfflineAndARunningServerHoldsConnectionsToThem() throws Exception {
    Path data = dir.resolve("quotas");
    String d = data.toString();
    try (SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                d,
                "security.reload-check-ms",
                "100",
                "auth.failure-delay-ms",
                "10"))) {
      server.security().addUser("alice", "a-pw", "test");
      Result set = run(Map.of(), "", "quota", "set", "user:alice", "connections=1", "--data", d);
      assertThat(set.code()).as(set.err()).isZero();
      assertThat(set.out()).isEqualTo("set quota user:alice connections=1\n");
      assertThat(run(Map.of(), "", "quota", "ls", "--data", d).out())
          .isEqualTo("user:alice connections=1\n");
      Result bad = run(Map.of(), "", "quota", "set", "user:alice", "conections=1", "--data", d);
      assertThat(bad.code()).isEqualTo(ExitCodes.REFUSED);
      assertThat(bad.err()).contains("unknown quota \"conections\"");
      // the running server reads the file within security.reload-check-ms
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  server
                          .security()
                          .quotas()
                          .meter(io.switchboard.spi.security.Principal.user("alice"))
                          .limits()
                          .connections()
                      == 1);
      assertThat(run(Map.of(), "", "quota", "rm", "user:alice", "--data", d).code()).isZero();
      assertThat(run(Map.of(), "", "quota", "ls", "--data", d).out()).isEmpty();
      Result none = run(Map.of(), "", "quota", "rm", "user:alice", "--data", d);
      assertThat(none.code()).isEqualTo(ExitCodes.REFUSED);
      assertThat(none.err()).contains("no quota is set for \"user:alice\"");
    }
  }
}
