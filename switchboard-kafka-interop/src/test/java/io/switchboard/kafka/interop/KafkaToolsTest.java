package io.switchboard.kafka.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's own tools (kafka-tools 4.4, what {@code kafka-topics.sh} and friends run), each as a
 * process with this module's classpath, against the server in a child JVM; every process is stopped
 * by PID.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class KafkaToolsTest {
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

  /** What a tool printed (stdout and stderr) and how it ended. */
  record Run(int exit, String output) {}

  /** Runs a tool's main class to its end (at most 90 s), {@code stdin} as its input. */
  static Run tool(String stdin, String mainClass, String... args)
      throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command =
        new ArrayList<>(
            List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), mainClass));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "tool", ".out");
    Path in = Files.createTempFile(dir, "tool", ".in");
    Files.writeString(in, stdin == null ? "" : stdin);
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(in.toFile())
            .start();
    boolean ended = p.waitFor(90, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    String output = Files.readString(out);
    assertThat(ended).as("%s ended; output:%n%s", mainClass, output).isTrue();
    return new Run(p.exitValue(), output);
  }

  static String ok(String stdin, String mainClass, String... args) throws Exception {
    Run r = tool(stdin, mainClass, args);
    assertThat(r.exit())
        .as("%s %s exit; output:%n%s", mainClass, List.of(args), r.output())
        .isZero();
    return r.output();
  }

  static final String TOPICS = "org.apache.kafka.tools.TopicCommand";
  static final String PRODUCER = "org.apache.kafka.tools.ConsoleProducer";
  static final String CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer";
  static final String GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
  static final String CONFIGS = "org.apache.kafka.tools.ConfigCommand";
  static final String VERIFIABLE_PRODUCER = "org.apache.kafka.tools.VerifiableProducer";
  static final String VERIFIABLE_CONSUMER = "org.apache.kafka.tools.VerifiableConsumer";

  String bootstrap() {
    return server.bootstrap();
  }

  @Test
  void kafkaTopicsCreatesListsDescribesAndDeletes() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "tools-t",
        "--partitions",
        "3",
        "--replication-factor",
        "1");
    assertThat(ok(null, TOPICS, "--bootstrap-server", bootstrap(), "--list")).contains("tools-t");
    String described =
        ok(null, TOPICS, "--bootstrap-server", bootstrap(), "--describe", "--topic", "tools-t");
    assertThat(described).contains("PartitionCount: 3").contains("Leader: 0");
    ok(null, TOPICS, "--bootstrap-server", bootstrap(), "--delete", "--topic", "tools-t");
    assertThat(ok(null, TOPICS, "--bootstrap-server", bootstrap(), "--list"))
        .doesNotContain("tools-t");
  }

  @Test
  void consoleProducerAndConsumerAndTheGroupTools() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "console",
        "--partitions",
        "1",
        "--replication-factor",
        "1");
    ok("one\ntwo\nthree\n", PRODUCER, "--bootstrap-server", bootstrap(), "--topic", "console");
    String consumed =
        ok(
            null,
            CONSUMER,
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "console",
            "--from-beginning",
            "--max-messages",
            "3",
            "--group",
            "console-group");
    assertThat(consumed.lines()).contains("one", "two", "three");

    assertThat(ok(null, GROUPS, "--bootstrap-server", bootstrap(), "--list"))
        .contains("console-group");
    String described =
        ok(
            null,
            GROUPS,
            "--bootstrap-server",
            bootstrap(),
            "--describe",
            "--group",
            "console-group");
    assertThat(described).contains("console").containsPattern("console\\s+0\\s+3\\s+3\\s+0");
    String reset =
        ok(
            null,
            GROUPS,
            "--bootstrap-server",
            bootstrap(),
            "--reset-offsets",
            "--group",
            "console-group",
            "--topic",
            "console",
            "--to-earliest",
            "--execute");
    assertThat(reset).containsPattern("console\\s+0\\s+0");
    String again =
        ok(
            null,
            CONSUMER,
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "console",
            "--max-messages",
            "3",
            "--group",
            "console-group");
    assertThat(again.lines()).contains("one", "two", "three");
    String deleted =
        ok(null, GROUPS, "--bootstrap-server", bootstrap(), "--delete", "--group", "console-group");
    assertThat(deleted).contains("successful");
    assertThat(ok(null, GROUPS, "--bootstrap-server", bootstrap(), "--list"))
        .doesNotContain("console-group");
  }

  @Test
  void kafkaConfigsDescribesATopicsRealSettings() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "configured",
        "--partitions",
        "1",
        "--replication-factor",
        "1",
        "--config",
        "retention.ms=86400000");
    String described =
        ok(
            null,
            CONFIGS,
            "--bootstrap-server",
            bootstrap(),
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "configured");
    assertThat(described).contains("retention.ms=86400000");
  }

  @Test
  void theVerifiableProducerAndConsumerAgreeOnEveryMessage() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "verified",
        "--partitions",
        "2",
        "--replication-factor",
        "1");
    String produced =
        ok(
            null,
            VERIFIABLE_PRODUCER,
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "verified",
            "--max-messages",
            "1000",
            "--acks",
            "-1");
    assertThat(count(produced, "\"name\":\"producer_send_success\"")).isEqualTo(1000);
    assertThat(produced).doesNotContain("producer_send_error");
    String consumed =
        ok(
            null,
            VERIFIABLE_CONSUMER,
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "verified",
            "--group-id",
            "verifier",
            "--max-messages",
            "1000",
            "--reset-policy",
            "earliest");
    long records =
        consumed
            .lines()
            .filter(l -> l.contains("\"name\":\"records_consumed\""))
            .mapToLong(l -> Long.parseLong(l.replaceAll(".*\"count\":(\\d+).*", "$1")))
            .sum();
    assertThat(records).isEqualTo(1000);
  }

  static final String COPIER = "org.apache.kafka.tools.TransactionalMessageCopier";

  @Test
  void theTransactionalMessageCopierCopiesEveryMessageOnceThroughRandomAborts() throws Exception {
    for (String topic : List.of("copy-in", "copy-out")) {
      ok(
          null,
          TOPICS,
          "--bootstrap-server",
          bootstrap(),
          "--create",
          "--topic",
          topic,
          "--partitions",
          "1",
          "--replication-factor",
          "1");
    }
    ok(
        null,
        VERIFIABLE_PRODUCER,
        "--bootstrap-server",
        bootstrap(),
        "--topic",
        "copy-in",
        "--max-messages",
        "500",
        "--acks",
        "-1");
    // Kafka's own exactly-once copier (what its system tests run): transactions of 50, some
    // aborted at random and redone, offsets committed with the group's metadata.
    String copied =
        ok(
            null,
            COPIER,
            "--broker-list",
            bootstrap(),
            "--transactional-id",
            "copier-1",
            "--input-topic",
            "copy-in",
            "--input-partition",
            "0",
            "--output-topic",
            "copy-out",
            "--consumer-group",
            "copy-group",
            "--transaction-size",
            "50",
            "--enable-random-aborts",
            "--use-group-metadata");
    assertThat(copied).contains("\"remaining\":0");
    String consumed =
        ok(
            null,
            CONSUMER,
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "copy-out",
            "--from-beginning",
            "--consumer-property",
            "isolation.level=read_committed",
            "--timeout-ms",
            "5000");
    List<String> values = consumed.lines().filter(l -> l.matches("\\d+")).toList();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      expected.add(Integer.toString(i));
    }
    assertThat(values).as("every message once, in order; nothing of an abort").isEqualTo(expected);
    assertThat(
            ok(
                null,
                GROUPS,
                "--bootstrap-server",
                bootstrap(),
                "--describe",
                "--group",
                "copy-group"))
        .containsPattern("copy-in\\s+0\\s+500\\s+500\\s+0");
  }

  static final String GET_OFFSETS = "org.apache.kafka.tools.GetOffsetShell";

  /** A kafka-clients producer (idempotent, as by default) to the server. */
  KafkaProducer<String, String> producer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  @Test
  void getOffsetsAnswersEarliestLatestAndTheLargestTimestamp() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "stamped",
        "--partitions",
        "1",
        "--replication-factor",
        "1");
    long[] stamps = {1_000, 9_000, 4_000, 9_000, 2_000}; // largest first at offset 1
    try (KafkaProducer<String, String> producer = producer()) {
      for (int i = 0; i < stamps.length; i++) {
        producer.send(new ProducerRecord<>("stamped", 0, stamps[i], "k", "v" + i)).get();
      }
    }
    String[] common = {"--bootstrap-server", bootstrap(), "--topic", "stamped", "--time"};
    assertThat(ok(null, GET_OFFSETS, concat(common, "earliest"))).contains("stamped:0:0");
    assertThat(ok(null, GET_OFFSETS, concat(common, "latest"))).contains("stamped:0:5");
    assertThat(ok(null, GET_OFFSETS, concat(common, "max-timestamp"))).contains("stamped:0:1");
  }

  static final String TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand";

  @Test
  void kafkaTransactionsDescribesAPartitionsProducersAndListsTransactions() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "produced",
        "--partitions",
        "1",
        "--replication-factor",
        "1");
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tools-txn");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = 0; i < 4; i++) {
        producer.send(new ProducerRecord<>("produced", 0, null, "v" + i));
      }
      producer.commitTransaction();
    }
    String listed = ok(null, TRANSACTIONS, "--bootstrap-server", bootstrap(), "list");
    assertThat(listed).containsPattern("tools-txn\\s+0\\s+\\d+\\s+CompleteCommit");
    String producerId =
        listed
            .lines()
            .filter(l -> l.startsWith("tools-txn"))
            .findFirst()
            .orElseThrow()
            .split("\\s+")[2];
    String described =
        ok(
            null,
            TRANSACTIONS,
            "--bootstrap-server",
            bootstrap(),
            "describe-producers",
            "--topic",
            "produced",
            "--partition",
            "0");
    // ProducerId ProducerEpoch LatestCoordinatorEpoch LastSequence LastTimestamp CurrentTxnStart
    assertThat(described)
        .contains("ProducerId")
        .containsPattern(producerId + "\\s+0\\s+-1\\s+3\\s+\\d+\\s+None");
  }

  @Test
  void consumerProtocolGroupsWithTheConsoleConsumerAndKafkaConsumerGroups() throws Exception {
    ok(
        null,
        TOPICS,
        "--bootstrap-server",
        bootstrap(),
        "--create",
        "--topic",
        "kip848",
        "--partitions",
        "2",
        "--replication-factor",
        "1");
    try (KafkaProducer<String, String> producer = producer()) {
      List<String> values = List.of("one", "two", "three", "four");
      for (int i = 0; i < values.size(); i++) {
        producer.send(new ProducerRecord<>("kip848", i % 2, null, values.get(i))).get();
      }
    }
    String consumed =
        ok(
            null,
            CONSUMER,
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "kip848",
            "--from-beginning",
            "--max-messages",
            "4",
            "--group",
            "g848",
            "--consumer-property",
            "group.protocol=consumer");
    assertThat(consumed.lines()).contains("one", "two", "three", "four");
    assertThat(ok(null, GROUPS, "--bootstrap-server", bootstrap(), "--list")).contains("g848");
    assertThat(ok(null, GROUPS, "--bootstrap-server", bootstrap(), "--describe", "--group", "g848"))
        .containsPattern("kip848\\s+0\\s+2\\s+2\\s+0")
        .containsPattern("kip848\\s+1\\s+2\\s+2\\s+0");
    // With a member consuming: the coordinator's assignment, described by ConsumerGroupDescribe.
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "g848");
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "live-member");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger assigned = new AtomicInteger();
    CompletableFuture<Void> member =
        CompletableFuture.runAsync(
            () -> {
              try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
                c.subscribe(List.of("kip848"));
                while (!stop.get()) {
                  c.poll(Duration.ofMillis(100));
                  assigned.set(c.assignment().size());
                }
              }
            });
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> assigned.get() == 2 || member.isDone());
      assertThat(assigned.get()).isEqualTo(2);
      String members =
          ok(
              null,
              GROUPS,
              "--bootstrap-server",
              bootstrap(),
              "--describe",
              "--group",
              "g848",
              "--members");
      assertThat(members).containsPattern("live-member\\s+2");
      String state =
          ok(
              null,
              GROUPS,
              "--bootstrap-server",
              bootstrap(),
              "--describe",
              "--group",
              "g848",
              "--state");
      assertThat(state).contains("uniform").contains("Stable");
    } finally {
      stop.set(true);
      member.get(30, TimeUnit.SECONDS);
    }
  }

  static String[] concat(String[] a, String... b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  static long count(String text, String needle) {
    return text.lines().filter(l -> l.contains(needle)).count();
  }
}
