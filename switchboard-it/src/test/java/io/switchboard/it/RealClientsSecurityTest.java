package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients with credentials and TLS (issue 18): mosquitto_pub/sub with {@code --cafile -u -P},
 * curl over HTTPS, the Java client over TLS, against one server that requires authentication and
 * denies by default. Skipped only when a tool is not installed.
 */
class RealClientsSecurityTest {
  @TempDir Path dir;
  SwitchboardServer server;
  TestCertificates.Pem pem;
  final List<Process> processes = new ArrayList<>();

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
                "auth.failure-delay-ms",
                "10",
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "native.tls-port",
                "0",
                "http.tls-port",
                "0",
                "mqtt.tls-port",
                "0"));
    var admin = server.security();
    admin.addUser("alice", "alice-pw", "test");
    admin.addRule(
        new AclRule(
            "",
            AclRule.Effect.ALLOW,
            "user:alice",
            EnumSet.of(Permission.PUBLISH, Permission.SUBSCRIBE),
            "sensors.>"),
        "test");
  }

  @AfterEach
  void stop() {
    processes.forEach(Process::destroyForcibly);
    server.close();
  }

  int port(String name) {
    return server.addresses().get(name).getPort();
  }

  static void need(String tool) {
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/bin", tool)), tool + " is not installed");
  }

  record Done(int code, String output) {}

  Process launch(String... command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    processes.add(p);
    return p;
  }

  static Done finish(Process p) throws Exception {
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(out).isTrue();
    return new Done(p.exitValue(), out);
  }

  List<String> mosquitto(
      String tool, String version, String user, String password, String... more) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                tool,
                "-h",
                "127.0.0.1",
                "-p",
                "" + port("mqtt-tls"),
                "-V",
                version,
                "--cafile",
                pem.cert().toString(),
                "-u",
                user,
                "-P",
                password));
    cmd.addAll(List.of(more));
    return cmd;
  }

  @Test
  void mosquittoClientsPublishAndSubscribeOverTlsWithAPassword() throws Exception {
    need("mosquitto_sub");
    need("mosquitto_pub");
    for (String version : new String[] {"mqttv311", "mqttv5"}) {
      int before = server.broker().live().subscriptionCount();
      Process sub =
          launch(
              mosquitto(
                      "mosquitto_sub",
                      version,
                      "alice",
                      "alice-pw",
                      "-t",
                      "sensors/#",
                      "-C",
                      "1",
                      "-v",
                      "-W",
                      "30")
                  .toArray(String[]::new));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> server.broker().live().subscriptionCount() > before);
      Done pub =
          finish(
              launch(
                  mosquitto(
                          "mosquitto_pub",
                          version,
                          "alice",
                          "alice-pw",
                          "-t",
                          "sensors/t1",
                          "-m",
                          "21.5",
                          "-q",
                          "1")
                      .toArray(String[]::new)));
      assertThat(pub.code()).as(pub.output()).isZero();
      Done got = finish(sub);
      assertThat(got.code()).as(got.output()).isZero();
      assertThat(got.output().trim()).isEqualTo("sensors/t1 21.5");

      Done wrong =
          finish(
              launch(
                  mosquitto(
                          "mosquitto_pub", version, "alice", "nope", "-t", "sensors/t1", "-m", "x")
                      .toArray(String[]::new)));
      assertThat(wrong.code()).isNotZero();
      assertThat(wrong.output().toLowerCase(java.util.Locale.ROOT))
          .contains("bad user name or password");
    }
  }

  @Test
  void curlPublishesOverHttpsWithBasicCredentials() throws Exception {
    need("curl");
    ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
    try (SwitchboardClient watcher =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", port("native-tls"))
                .withReconnect(false)
                .withTls(pem.cert().toString())
                .withCredentials("alice", "alice-pw"))) {
      watcher.subscribe("sensors.>", m -> got.add(m.subject()));
      String url = "https://127.0.0.1:" + port("http-tls") + "/v1/subjects/sensors.t2";
      Done ok =
          finish(
              launch(
                  "curl",
                  "-sS",
                  "--cacert",
                  pem.cert().toString(),
                  "-u",
                  "alice:alice-pw",
                  "-H",
                  "Content-Type: application/octet-stream",
                  "-d",
                  "22.0",
                  "-o",
                  "/dev/null",
                  "-w",
                  "%{http_code}",
                  url));
      assertThat(ok.output()).isEqualTo("200");
      await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("sensors.t2"));
      Done anonymous =
          finish(
              launch(
                  "curl",
                  "-sS",
                  "--cacert",
                  pem.cert().toString(),
                  "-H",
                  "Content-Type: application/octet-stream",
                  "-d",
                  "x",
                  "-o",
                  "/dev/null",
                  "-w",
                  "%{http_code}",
                  url));
      assertThat(anonymous.output()).isEqualTo("401");
      Done forbidden =
          finish(
              launch(
                  "curl",
                  "-sS",
                  "--cacert",
                  pem.cert().toString(),
                  "-u",
                  "alice:alice-pw",
                  "-H",
                  "Content-Type: application/octet-stream",
                  "-d",
                  "x",
                  "https://127.0.0.1:" + port("http-tls") + "/v1/subjects/payments.1"));
      assertThat(forbidden.output()).contains("PERMISSION_DENIED", "\"status\":403");
    }
  }
}
