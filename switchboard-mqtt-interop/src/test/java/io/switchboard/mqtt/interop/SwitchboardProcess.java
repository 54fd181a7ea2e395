package io.switchboard.mqtt.interop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server as users run it — the command line's jar — in a child JVM on loopback ports, so its
 * Netty 4.2 never meets the HiveMQ client's Netty 4.1. Stopped by PID: SIGTERM, or SIGKILL to
 * simulate a crash.
 */
final class SwitchboardProcess implements AutoCloseable {
  final Path data;
  final int mqttPort;
  final int nativePort;
  private final Path log;
  private final List<String> settings;
  private Process process;

  private SwitchboardProcess(Path data, int mqttPort, int nativePort, List<String> settings) {
    this.data = data;
    this.mqttPort = mqttPort;
    this.nativePort = nativePort;
    this.settings = settings;
    this.log = data.resolveSibling(data.getFileName() + ".log");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Starts a server with its data in {@code data} and waits until MQTT listens. */
  static SwitchboardProcess start(Path data) throws Exception {
    return start(data, List.of());
  }

  /** The same, with {@code KEY=VALUE} settings passed as {@code --set}. */
  static SwitchboardProcess start(Path data, List<String> settings) throws Exception {
    SwitchboardProcess p = new SwitchboardProcess(data, freePort(), freePort(), settings);
    p.launch();
    return p;
  }

  /**
   * Runs the command line ({@code switchboard ARGS}) to its end with {@code stdin} as its input;
   * fails unless it exits with 0.
   */
  static void cli(String stdin, String... args) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>(List.of(java, "-jar", cliJar().toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    String output = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("switchboard " + args[0] + " did not end");
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("switchboard " + String.join(" ", args) + ": " + output);
    }
  }

  static Path cliJar() {
    Path jar =
        Path.of(System.getProperty("user.dir"))
            .toAbsolutePath()
            .getParent()
            .resolve("switchboard-cli/target/switchboard-cli.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar + " is missing: build switchboard-cli first");
    }
    return jar;
  }

  private void launch() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command =
        new ArrayList<>(
            List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m",
                "-jar",
                cliJar().toString(),
                "server",
                "--data",
                data.toString(),
                "--port",
                Integer.toString(nativePort),
                "--set",
                "mqtt.port=" + mqttPort,
                "--set",
                "http.port=-1"));
    for (String setting : settings) {
      command.add("--set");
      command.add(setting);
    }
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    process = pb.start();
    Process started = process;
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(50))
        .failFast("the server exited", () -> !started.isAlive())
        .until(this::listening);
  }

  private boolean listening() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", mqttPort), 200);
      return true;
    } catch (IOException notYet) {
      return false;
    }
  }

  /** SIGKILL by PID, then a fresh process on the same data and ports. */
  void killAndRestart() throws Exception {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("pid " + process.pid() + " survived SIGKILL");
    }
    launch();
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
