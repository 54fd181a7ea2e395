package io.switchboard.kafka.interop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server as users run it — the command line's jar — in a child JVM on loopback ports, so
 * Kafka's own jars on this module's classpath never meet it. Stopped by PID.
 */
final class SwitchboardProcess implements AutoCloseable {
  final Path data;
  final int kafkaPort;
  final int nativePort;
  final Path log;
  private Process process;

  private SwitchboardProcess(Path data, int kafkaPort, int nativePort) {
    this.data = data;
    this.kafkaPort = kafkaPort;
    this.nativePort = nativePort;
    this.log = data.resolveSibling(data.getFileName() + ".log");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Starts a server with its data in {@code data} and waits until Kafka listens. */
  static SwitchboardProcess start(Path data) throws Exception {
    SwitchboardProcess p = new SwitchboardProcess(data, freePort(), freePort());
    p.launch();
    return p;
  }

  String bootstrap() {
    return "127.0.0.1:" + kafkaPort;
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
    ProcessBuilder pb =
        new ProcessBuilder(
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
                    "kafka.port=" + kafkaPort,
                    "--set",
                    "mqtt.port=-1",
                    "--set",
                    "http.port=-1"))
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
      s.connect(new InetSocketAddress("127.0.0.1", kafkaPort), 200);
      return true;
    } catch (IOException notYet) {
      return false;
    }
  }

  /** SIGKILL to the server's PID; returns once it is gone. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly(); // SIGKILL on Unix
      process.waitFor(30, TimeUnit.SECONDS);
    }
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
