package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.cli.SwitchboardCli;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code switchboard user|acl --server} over HTTPS (issue 18): with {@code --tls-ca} (or {@code
 * $SWITCHBOARD_TLS_CA}) the command trusts the server's CA and acts on the running server; without
 * it the JDK's trust store refuses the self-signed certificate and nothing is sent.
 */
class SecurityCliOverTlsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  TestCertificates.Pem pem;
  String address;

  @BeforeEach
  void start() throws Exception {
    pem = TestCertificates.selfSigned(dir, "server", "switchboard-test");
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data").toString(),
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "http.tls-port",
                "0"));
    server.security().addUser("admin", "admin-pw", "test");
    server
        .security()
        .addRule(
            new AclRule("", AclRule.Effect.ALLOW, "user:admin", EnumSet.of(Permission.ADMIN), ">"),
            "test");
    address = "127.0.0.1:" + server.addresses().get("http-tls").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  record Result(int code, String out, String err) {}

  static Result cli(Map<String, String> env, String stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine c =
        new CommandLine(
            new SwitchboardCli(
                env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8))));
    c.setOut(new PrintWriter(out, true));
    c.setErr(new PrintWriter(err, true));
    return new Result(c.execute(args), out.toString(), err.toString());
  }

  @Test
  void theCommandsTrustTheGivenCaAndActOnTheServer() {
    Result added =
        cli(
            Map.of(),
            "admin-pw\nbob-pw\n",
            "user",
            "add",
            "bob",
            "--server",
            address,
            "--tls-ca",
            pem.cert().toString(),
            "--user",
            "admin",
            "--password-stdin");
    assertThat(added.code()).as(added.err()).isZero();
    assertThat(server.security().users()).contains("bob");
    Result ls =
        cli(
            Map.of(
                "SWITCHBOARD_USER",
                "admin",
                "SWITCHBOARD_PASSWORD",
                "admin-pw",
                "SWITCHBOARD_TLS_CA",
                pem.cert().toString()),
            "",
            "acl",
            "ls",
            "--server",
            "https://" + address);
    assertThat(ls.code()).as(ls.err()).isZero();
    assertThat(ls.out()).contains("allow user:admin admin >");
  }

  @Test
  void withoutTheCaTheServerIsNotTrusted() {
    Result r =
        cli(
            Map.of("SWITCHBOARD_USER", "admin", "SWITCHBOARD_PASSWORD", "admin-pw"),
            "",
            "user",
            "rm",
            "admin",
            "--server",
            "https://" + address);
    assertThat(r.code()).isEqualTo(3); // cannot connect
    assertThat(server.security().users()).contains("admin");
  }
}
