package io.switchboard.kafka.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's own share-group tools (kafka-tools 4.4) as processes against the server in a child JVM:
 * the verifiable share consumer (what Kafka's system tests check share groups with) consuming
 * everything the verifiable producer sent, and the console share consumer with {@code
 * kafka-configs} setting the group's start and {@code kafka-share-groups} listing and describing
 * it. Every process is stopped by PID.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class KafkaShareToolsTest {
  @TempDir static Path dir;
  static SwitchboardProcess server;

  @BeforeAll
  static void start() throws Exception {
    server = SwitchboardProcess.start(dir.resolve("data"));
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  static final String TOPICS = "org.apache.kafka.tools.TopicCommand";
  static final String PRODUCER = "org.apache.kafka.tools.ConsoleProducer";
  static final String CONFIGS = "org.apache.kafka.tools.ConfigCommand";
  static final String SHARE_GROUPS = "org.apache.kafka.tools.consumer.group.ShareGroupCommand";
  static final String CONSOLE_SHARE_CONSUMER =
      "org.apache.kafka.tools.consumer.ConsoleShareConsumer";
  static final String VERIFIABLE_PRODUCER = "org.apache.kafka.tools.VerifiableProducer";
  static final String VERIFIABLE_SHARE_CONSUMER = "org.apache.kafka.tools.VerifiableShareConsumer";

  static List<String> command(String mainClass, String... args) {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command =
        new ArrayList<>(
            List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), mainClass));
    command.addAll(List.of(args));
    return command;
  }

  /** Runs a tool to its end (at most 120 s), {@code stdin} as its input; its output. */
  static String ok(String stdin, String mainClass, String... args) throws Exception {
    Path out = Files.createTempFile(dir, "tool", ".out");
    Path in = Files.createTempFile(dir, "tool", ".in");
    Files.writeString(in, stdin == null ? "" : stdin);
    Process p =
        new ProcessBuilder(command(mainClass, args))
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(in.toFile())
            .start();
    boolean ended = p.waitFor(120, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    String output = Files.readString(out);
    assertThat(ended).as("%s ended; output:%n%s", mainClass, output).isTrue();
    assertThat(p.exitValue())
        .as("%s %s exit; output:%n%s", mainClass, List.of(args), output)
        .isZero();
    return output;
  }

  static void createTopic(String name, int partitions) throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        server.bootstrap(),
        "--create",
        "--topic",
        name,
        "--partitions",
        Integer.toString(partitions),
        "--replication-factor",
        "1");
  }

  static long count(String output, String event) {
    return output.lines().filter(l -> l.contains(event)).count();
  }

  @Test
  void theVerifiableShareConsumerGetsEveryRecordTheVerifiableProducerSent() throws Exception {
    createTopic("shared", 3);
    String produced =
        ok(
            null,
            VERIFIABLE_PRODUCER,
            "--bootstrap-server",
            server.bootstrap(),
            "--topic",
            "shared",
            "--max-messages",
            "1000",
            "--acks",
            "-1");
    assertThat(count(produced, "\"name\":\"producer_send_success\"")).isEqualTo(1000);
    // It sets the group's share.auto.offset.reset itself, with IncrementalAlterConfigs.
    String consumed =
        ok(
            null,
            VERIFIABLE_SHARE_CONSUMER,
            "--bootstrap-server",
            server.bootstrap(),
            "--topic",
            "shared",
            "--group-id",
            "verifier",
            "--max-messages",
            "1000",
            "--offset-reset-strategy",
            "earliest",
            "--acknowledgement-mode",
            "sync");
    long records =
        consumed
            .lines()
            .filter(l -> l.contains("\"name\":\"records_consumed\""))
            .mapToLong(l -> Long.parseLong(l.replaceAll(".*\"count\":(\\d+).*", "$1")))
            .sum();
    assertThat(records).as(consumed).isEqualTo(1000);
    assertThat(consumed).contains("offsets_acknowledged").doesNotContain("\"success\":false");
  }

  @Test
  void theConsoleShareConsumerAndTheShareGroupTool() throws Exception {
    createTopic("console-share", 2);
    ok(
        "early-1\nearly-2\n",
        PRODUCER,
        "--bootstrap-server",
        server.bootstrap(),
        "--topic",
        "console-share");
    ok(
        null,
        CONFIGS,
        "--bootstrap-server",
        server.bootstrap(),
        "--entity-type",
        "groups",
        "--entity-name",
        "console-readers",
        "--alter",
        "--add-config",
        "share.auto.offset.reset=earliest");
    Path out = Files.createTempFile(dir, "share-console", ".out");
    Process consumer =
        new ProcessBuilder(
                command(
                    CONSOLE_SHARE_CONSUMER,
                    "--bootstrap-server",
                    server.bootstrap(),
                    "--topic",
                    "console-share",
                    "--group",
                    "console-readers"))
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    try {
      // Started at the earliest record, as the group's configuration says.
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  Files.readString(out)
                      .lines()
                      .toList()
                      .containsAll(List.of("early-1", "early-2")));
      String listed = ok(null, SHARE_GROUPS, "--bootstrap-server", server.bootstrap(), "--list");
      assertThat(listed.lines()).contains("console-readers");
      String members =
          ok(
              null,
              SHARE_GROUPS,
              "--bootstrap-server",
              server.bootstrap(),
              "--describe",
              "--group",
              "console-readers",
              "--members");
      assertThat(members).contains("console-readers").contains("console-share:0,1");
      // Offsets (DescribeShareGroupOffsets): a line per partition of the topic.
      String offsets =
          ok(
              null,
              SHARE_GROUPS,
              "--bootstrap-server",
              server.bootstrap(),
              "--describe",
              "--group",
              "console-readers");
      assertThat(offsets.lines().filter(l -> l.contains("console-share")).count())
          .as(offsets)
          .isEqualTo(2);
      ok("later\n", PRODUCER, "--bootstrap-server", server.bootstrap(), "--topic", "console-share");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.readString(out).lines().anyMatch("later"::equals));
    } finally {
      consumer.destroy();
      if (!consumer.waitFor(30, TimeUnit.SECONDS)) {
        consumer.destroyForcibly();
      }
    }
    String output = Files.readString(out);
    assertThat(output.lines().filter(l -> l.startsWith("early-") || l.equals("later")).toList())
        .as("each once: %s", output)
        .hasSize(3);
  }
}
