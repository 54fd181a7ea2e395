package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with rabbitmq-c's command line tools (Debian amqp-tools 0.11: one connection per command,
 * heartbeats off) and with Python's pika (Debian python3-pika 1.2), run as processes; both are
 * installed by bin/test-deps.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class AmqpToolsInteropTest {
  @TempDir Path dir;
  SwitchboardServer server;
  final List<Process> processes = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (Process p : processes) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
    server.close();
  }

  /** Runs one of the tools to its end (at most 30 s) and returns its standard output. */
  String tool(String name, String... args) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                name, "--server=127.0.0.1", "--port=" + server.addresses().get("amqp").getPort()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "tool", ".out");
    Path err = Files.createTempFile(dir, "tool", ".err");
    Process p =
        new ProcessBuilder(command)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    processes.add(p);
    boolean ended = p.waitFor(30, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    String stdout = Files.readString(out);
    String stderr = Files.readString(err);
    assertThat(ended)
        .as("%s %s ended; stdout: %s; stderr: %s", name, args, stdout, stderr)
        .isTrue();
    assertThat(p.exitValue()).as(name + " exit status; stderr: " + stderr).isZero();
    return stdout;
  }

  @Test
  void declarePublishGetConsumeAndDelete() throws Exception {
    assertThat(tool("amqp-declare-queue", "--durable", "--queue=work").trim()).isEqualTo("work");
    for (int i = 1; i <= 3; i++) {
      tool("amqp-publish", "--routing-key=work", "--persistent", "--body=job " + i);
    }
    assertThat(tool("amqp-get", "--queue=work")).isEqualTo("job 1");
    // amqp-consume runs the command once per message, the body on its standard input
    String consumed =
        tool("amqp-consume", "--queue=work", "--count=2", "--prefetch-count=1", "cat");
    assertThat(consumed).isEqualTo("job 2job 3");
    tool("amqp-delete-queue", "--queue=work");
    Process get =
        new ProcessBuilder(
                "amqp-get",
                "--server=127.0.0.1",
                "--port=" + server.addresses().get("amqp").getPort(),
                "--queue=work")
            .redirectErrorStream(true)
            .start();
    processes.add(get);
    assertThat(get.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(get.exitValue()).isNotZero(); // the queue is gone: 404
    assertThat(new String(get.getInputStream().readAllBytes())).contains("NOT_FOUND");
  }

  @Test
  void publishToATopicExchangeReachesABoundQueue() throws Exception {
    // amqp-consume declares the queue (with flags of its own), binds the queue to the exchange
    // itself, then takes one message
    Process consumer =
        new ProcessBuilder(
                "amqp-consume",
                "--server=127.0.0.1",
                "--port=" + server.addresses().get("amqp").getPort(),
                "--queue=alerts",
                "--exchange=amq.topic",
                "--routing-key=alert.#",
                "--count=1",
                "cat")
            .redirectErrorStream(true)
            .start();
    processes.add(consumer);
    // publish until the binding is in place (the consumer makes it after it connects)
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (consumer.isAlive() && System.nanoTime() < deadline) {
      tool("amqp-publish", "--exchange=amq.topic", "--routing-key=alert.disk.full", "--body=disk");
      consumer.waitFor(200, TimeUnit.MILLISECONDS);
    }
    assertThat(consumer.waitFor(10, TimeUnit.SECONDS)).isTrue();
    String output = new String(consumer.getInputStream().readAllBytes());
    assertThat(consumer.exitValue()).as(output).isZero();
    assertThat(output).isEqualTo("disk");
  }

  @Test
  void pikaPublishesConsumesRequeuesAndRoutes() throws Exception {
    Path script = dir.resolve("pika_client.py");
    try (var in = getClass().getResourceAsStream("/pika_client.py")) {
      Files.copy(in, script);
    }
    Path out = dir.resolve("pika.out");
    Process p =
        new ProcessBuilder(
                "/usr/bin/python3",
                script.toString(),
                Integer.toString(server.addresses().get("amqp").getPort()))
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    processes.add(p);
    boolean ended = p.waitFor(60, TimeUnit.SECONDS);
    String output = Files.readString(out);
    assertThat(ended).as(output).isTrue();
    assertThat(p.exitValue()).as(output).isZero();
    assertThat(output.trim()).isEqualTo("OK");
  }
}
