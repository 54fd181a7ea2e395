package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.cli.SwitchboardCli;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code switchboard server} as a process: JSON logs by configuration, a graceful stop on SIGTERM
 * that closes storage cleanly, and a restart that serves what was acknowledged before.
 */
class ServerLifecycleTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  Process server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.destroyForcibly();
    }
  }

  /** The server's output lines, collected as they come; {@code listening} opens once it listens. */
  record Output(List<String> lines, CountDownLatch listening, Thread[] reader) {
    /** Waits until every line the process wrote has been read (it has ended). */
    void drained() throws InterruptedException {
      reader[0].join(TimeUnit.SECONDS.toMillis(30));
    }
  }

  Output start(int port, String... extra) throws IOException {
    List<String> args =
        new java.util.ArrayList<>(
            List.of("server", "--data", dir.resolve("data").toString(), "--port", "" + port));
    // Every other listener on a free port, so this server never collides with another.
    SwitchboardServer.onFreePorts(Map.of(NativeKeys.PORT.name(), "" + port))
        .forEach(
            (k, v) -> {
              if (!k.equals(NativeKeys.PORT.name())) {
                args.add("--set");
                args.add(k + "=" + v);
              }
            });
    args.addAll(List.of(extra));
    server = ChildJvm.startMerged(SwitchboardCli.class, args.toArray(String[]::new));
    Output out = new Output(new CopyOnWriteArrayList<>(), new CountDownLatch(1), new Thread[1]);
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    out.reader()[0] =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    String line;
                    while ((line = reader.readLine()) != null) {
                      out.lines().add(line);
                      if (line.contains("native listening on")) {
                        out.listening().countDown();
                      }
                    }
                  } catch (IOException e) {
                    // the process ended
                  }
                });
    return out;
  }

  static int freePort() {
    return io.switchboard.testkit.Ports.free();
  }

  @Test
  void sigtermClosesStorageCleanlyAndARestartServesEverything() throws Exception {
    int port = freePort();
    Output first = start(port, "--set", "log.format=json");
    assertThat(first.listening().await(60, TimeUnit.SECONDS)).isTrue();
    try (SwitchboardClient client =
        SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port))) {
      client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"S\",\"subjects\":[\"s.>\"]}");
      for (int i = 0; i < 100; i++) {
        client.publish("s.x", ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
    }
    // SIGTERM to this PID. Through the handle: Process.destroy() would also close our end of the
    // child's output, and with it the lines the shutdown logs.
    server.toHandle().destroy();
    assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
    first.drained();
    assertThat(first.lines()).anySatisfy(l -> assertThat(l).contains("storage closed cleanly"));
    // Every log line was one JSON object with a level and the message as read.
    List<String> logLines = first.lines().stream().filter(l -> l.startsWith("{")).toList();
    assertThat(logLines).isNotEmpty();
    for (String l : logLines) {
      JsonNode n = JSON.readTree(l);
      assertThat(n.has("level") && n.has("formattedMessage")).as(l).isTrue();
    }
    assertThat(Files.exists(dir.resolve("data/streams/S/0/.clean-shutdown")))
        .as("the partition log was closed cleanly")
        .isTrue();

    Output second = start(port);
    assertThat(second.listening().await(60, TimeUnit.SECONDS)).isTrue();
    try (SwitchboardClient client =
        SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port))) {
      assertThat(client.readSubject("S", "s.x", 0, 1000).messages()).hasSize(100);
    }
  }

  @Test
  void thePackagedCommandLineStartsEveryFrontEnd() throws Exception {
    // The jar the README's first command runs: its manifest must name every library.
    Path jar = Path.of("..", "switchboard-cli", "target", "switchboard-cli.jar").toAbsolutePath();
    assertThat(jar).exists();
    List<String> command =
        new java.util.ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED",
                "-jar",
                jar.toString(),
                "server",
                "--data",
                dir.resolve("jar-data").toString()));
    SwitchboardServer.onFreePorts(Map.of())
        .forEach(
            (k, v) -> {
              command.add("--set");
              command.add(k + "=" + v);
            });
    server = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> lines = new CopyOnWriteArrayList<>();
    CountDownLatch all = new CountDownLatch(3);
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                for (String l; (l = reader.readLine()) != null; ) {
                  lines.add(l);
                  if (l.matches(".*(native|http|mqtt) listening on .*")) {
                    all.countDown();
                  }
                }
              } catch (IOException e) {
                // the process ended
              }
            });
    assertThat(all.await(60, TimeUnit.SECONDS)).as(String.join("\n", lines)).isTrue();
    server.toHandle().destroy(); // SIGTERM to this PID
    assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aBadConfigurationIsReportedWholeAndNothingStarts() throws Exception {
    Output out = start(freePort(), "--set", "native.max-connections=0", "--set", "no.such.key=1");
    assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(server.exitValue()).isEqualTo(2);
    out.drained();
    String all = String.join("\n", out.lines());
    assertThat(all)
        .contains("2 problem(s)")
        .contains("native.max-connections (flag): 0 is not in [1, 1000000]")
        .contains("no.such.key (flag): unknown key");
    assertThat(Files.exists(dir.resolve("data"))).as("no storage was opened").isFalse();
  }

  /**
   * Issue 12 §3: the launcher set no heap limit (the JVM grew to 6.3 GB in a flood). The README's
   * command, {@code ./switchboard server}, now runs with a bounded heap, and SWITCHBOARD_JAVA_OPTS
   * overrides it.
   */
  @Test
  void theLauncherBoundsTheServersHeapUnlessToldOtherwise() throws Exception {
    assertThat(launcherHeapMiB(null)).isEqualTo("2048");
    assertThat(launcherHeapMiB("-Xmx512m")).isEqualTo("512");
  }

  /** Starts {@code ./switchboard server}, reads the heap it says it has, stops it by its PID. */
  private String launcherHeapMiB(String javaOpts) throws Exception {
    Path launcher = Path.of("..", "switchboard").toAbsolutePath().normalize();
    List<String> command =
        new java.util.ArrayList<>(
            List.of(
                "bash",
                launcher.toString(),
                "server",
                "--data",
                dir.resolve("launcher-data").toString()));
    SwitchboardServer.onFreePorts(Map.of())
        .forEach(
            (k, v) -> {
              command.add("--set");
              command.add(k + "=" + v);
            });
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().remove("SWITCHBOARD_JAVA_OPTS");
    if (javaOpts != null) {
      pb.environment().put("SWITCHBOARD_JAVA_OPTS", javaOpts);
    }
    server = pb.start(); // the launcher execs java: this PID is the server's
    List<String> lines = new CopyOnWriteArrayList<>();
    java.util.concurrent.CompletableFuture<String> heap =
        new java.util.concurrent.CompletableFuture<>();
    java.util.regex.Pattern started = java.util.regex.Pattern.compile("heap max (\\d+) MiB");
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                for (String l; (l = reader.readLine()) != null; ) {
                  lines.add(l);
                  java.util.regex.Matcher m = started.matcher(l);
                  if (m.find()) {
                    heap.complete(m.group(1));
                  }
                }
              } catch (IOException e) {
                // the process ended
              }
              heap.completeExceptionally(new AssertionError(String.join("\n", lines)));
            });
    try {
      return heap.get(120, TimeUnit.SECONDS);
    } finally {
      server.toHandle().destroy(); // SIGTERM to this PID
      assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
      server = null;
    }
  }
}
