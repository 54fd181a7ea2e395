package io.switchboard.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client in another language: Node.js with {@code @grpc/grpc-js}, {@code
 * grpc-js-reflection-client} and {@code grpc-health-check} (installed with npm under {@code
 * target/node-grpc} at test time; the registry is npm's configured one) checks health, lists the
 * services through reflection, loads the API from the reflected descriptors without any .proto
 * file, and publishes, subscribes and consumes with acks. Nothing is skipped: without node or npm,
 * or when the install fails, the test fails.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class GrpcNodeClientTest {
  @TempDir Path dataDir;

  static Path workDir() {
    String base = System.getProperty("basedir", System.getProperty("user.dir"));
    return Path.of(base, "target", "node-grpc");
  }

  static String resource(String name) throws IOException {
    try (InputStream in = GrpcNodeClientTest.class.getResourceAsStream("/node/" + name)) {
      assertThat(in).as("test resource node/" + name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** Runs a command in {@code dir}, stopping it (by its process) after {@code seconds}. */
  static String run(Path dir, int seconds, String... command) throws Exception {
    Path log = Files.createTempFile(dir, "out", ".log");
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    Process p = pb.start();
    try {
      boolean finished = p.waitFor(seconds, TimeUnit.SECONDS);
      String out = Files.readString(log);
      assertThat(finished)
          .as(String.join(" ", command) + " within " + seconds + " s:\n" + out)
          .isTrue();
      assertThat(p.exitValue()).as(String.join(" ", command) + " exit status:\n" + out).isZero();
      return out;
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(log);
    }
  }

  /** Installs the packages when package.json changed or they are missing. */
  static Path install() throws Exception {
    Path dir = workDir();
    Files.createDirectories(dir);
    String manifest = resource("package.json");
    Path pkg = dir.resolve("package.json");
    boolean fresh =
        Files.isDirectory(dir.resolve("node_modules/@grpc/grpc-js"))
            && Files.isDirectory(dir.resolve("node_modules/grpc-js-reflection-client"))
            && Files.isDirectory(dir.resolve("node_modules/grpc-health-check"))
            && Files.exists(pkg)
            && Files.readString(pkg).equals(manifest);
    if (!fresh) {
      Files.writeString(pkg, manifest);
      run(dir, 240, "npm", "install", "--no-audit", "--no-fund", "--no-progress");
    }
    Files.writeString(dir.resolve("client.js"), resource("client.js"));
    return dir;
  }

  @Test
  void nodeClientUsesHealthReflectionPublishSubscribeAndConsume() throws Exception {
    Path dir = install();
    SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dataDir.toString()));
    try {
      server.broker().createStream(StreamConfig.builder("jobs", "jobs.>").build());
      server
          .broker()
          .createConsumer(
              "jobs",
              ConsumerConfig.builder("workers")
                  .mode(DeliveryMode.SHARED)
                  .ackPolicy(AckPolicy.EACH)
                  .build());
      String out =
          run(
              dir,
              60,
              "node",
              "client.js",
              "127.0.0.1:" + server.addresses().get("grpc").getPort());
      List<String> lines = out.lines().toList();
      assertThat(lines).contains("health SERVING", "opened true", "consumed 5", "done");
      assertThat(lines)
          .anySatisfy(
              l ->
                  assertThat(l)
                      .startsWith("services ")
                      .contains(
                          "grpc.health.v1.Health",
                          "switchboard.v1.Publisher",
                          "switchboard.v1.Subscriber",
                          "switchboard.v1.Streams",
                          "switchboard.v1.EventStore",
                          "switchboard.v1.Requests",
                          "switchboard.v1.Admin"));
      assertThat(lines)
          .contains(
              "published jobs 0 DURABILITY_WRITTEN",
              "published jobs 4 DURABILITY_WRITTEN",
              "subscribed live.node hello");
      await().until(() -> server.broker().consumerInfo("jobs", "workers").unacknowledged() == 0);
      assertThat(server.broker().streamInfo("jobs").partitions().get(0).nextOffset()).isEqualTo(5);
    } finally {
      server.close();
    }
  }
}
