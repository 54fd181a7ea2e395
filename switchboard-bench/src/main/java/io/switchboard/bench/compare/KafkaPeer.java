package io.switchboard.bench.compare;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Apache Kafka in KRaft mode, one node acting as broker and controller, from its Maven Central
 * jars. Publishing is measured with Kafka's own ProducerPerformance (kafka-tools); end-to-end
 * latency at a fixed rate with the suite's driver on kafka-clients, since Kafka's EndToEndLatency
 * tool sends one message at a time rather than at a rate.
 */
final class KafkaPeer implements Peer {
  static final String VERSION = "4.4.0";
  static final String TOOL = "ProducerPerformance (kafka-tools " + VERSION + ")";
  static final String CLIENT = "suite driver on kafka-clients " + VERSION;

  private final Path libs;

  KafkaPeer(Path libs) {
    this.libs = libs;
  }

  @Override
  public String name() {
    return "Kafka";
  }

  @Override
  public String version() {
    return VERSION + " (KRaft, one node)";
  }

  @Override
  public String durability(Durability d) {
    return d == Durability.DEFAULT
        ? "its default: acks=all, written to the page cache, fsync left to the OS"
        : "`log.flush.interval.messages=1` (the broker-wide `flush.messages=1`): fsynced before the ack";
  }

  @Override
  public boolean supports(Durability d) {
    return true;
  }

  @Override
  public List<Workload> workloads() {
    return List.of(
        Workload.PUBLISH_100B, Workload.PUBLISH_1KIB, Workload.LATENCY_1KIB, Workload.CONSUME_1KIB);
  }

  /** server.properties for a one-node KRaft cluster on loopback. */
  static String config(int port, int controllerPort, Path logDir, Durability d) {
    StringBuilder b = new StringBuilder();
    b.append("process.roles=broker,controller\n");
    b.append("node.id=1\n");
    b.append("controller.quorum.voters=1@127.0.0.1:").append(controllerPort).append('\n');
    b.append("listeners=PLAINTEXT://127.0.0.1:")
        .append(port)
        .append(",CONTROLLER://127.0.0.1:")
        .append(controllerPort)
        .append('\n');
    b.append("advertised.listeners=PLAINTEXT://127.0.0.1:").append(port).append('\n');
    b.append("controller.listener.names=CONTROLLER\n");
    b.append("listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n");
    b.append("log.dirs=").append(logDir).append('\n');
    b.append("num.partitions=1\n");
    b.append("offsets.topic.replication.factor=1\n");
    b.append("transaction.state.log.replication.factor=1\n");
    b.append("transaction.state.log.min.isr=1\n");
    b.append("share.coordinator.state.topic.replication.factor=1\n");
    b.append("share.coordinator.state.topic.min.isr=1\n");
    b.append("group.initial.rebalance.delay.ms=0\n");
    if (d == Durability.FSYNC) {
      b.append("log.flush.interval.messages=1\n");
    }
    return b.toString();
  }

  List<String> java(String mainClass, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(Procs.java(), "-Xms1g", "-Xmx1g", "-cp", libs.toAbsolutePath() + "/*", mainClass));
    cmd.addAll(List.of(args));
    return cmd;
  }

  @Override
  public Running start(Path dir, Durability d) throws Exception {
    int port = Running.freePort();
    int controller = Running.freePort();
    Files.createDirectories(dir);
    Path props = dir.resolve("server.properties");
    Files.writeString(props, config(port, controller, dir.resolve("kafka-logs"), d));
    Procs.run(
        java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            Uuid.randomUuid().toString(),
            "-c",
            props.toString()),
        Map.of(),
        dir.resolve("format.log"),
        Duration.ofMinutes(2));
    Path log = dir.resolve("kafka.log");
    Process p = Procs.start(java("kafka.Kafka", props.toString()), Map.of(), log);
    return new Running(List.of(p), Map.of("kafka", port), log)
        .awaitListening(Duration.ofSeconds(90));
  }

  private static Properties common(Running r) {
    Properties p = new Properties();
    p.put("bootstrap.servers", "127.0.0.1:" + r.port("kafka"));
    return p;
  }

  private static void createTopic(Running r, String topic, Map<String, String> configs)
      throws Exception {
    try (Admin admin = Admin.create(common(r))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(configs))).all().get();
    }
  }

  @Override
  public List<Result> run(Running r, Workload w, Durability d, Settings s) throws Exception {
    return runAs(name(), r, w, d, s, Map.of());
  }

  /**
   * Runs a workload against whatever speaks Kafka on {@code r}'s "kafka" port, reporting it as
   * {@code broker}; its topics are made with {@code topicConfigs}.
   */
  List<Result> runAs(
      String broker,
      Running r,
      Workload w,
      Durability d,
      Settings s,
      Map<String, String> topicConfigs)
      throws Exception {
    String topic = "bench-" + w.name().toLowerCase(java.util.Locale.ROOT);
    createTopic(r, topic, topicConfigs);
    if (w == Workload.LATENCY_1KIB) {
      return List.of(endToEnd(broker, r, topic, w, d, s));
    }
    // ProducerPerformance sends a count, not for a time: the warm-up run, sized from a first
    // guess, also measures the rate that sizes the measured run to last about as long as asked.
    Path log =
        r.log.resolveSibling(
            "producer-performance-" + w.id + "-" + d + "-" + broker.length() + ".log");
    long guess = 100_000L * s.warmup().toSeconds();
    Result warm = parse(broker, producerPerformance(r, topic, w, guess, log, s), w, d);
    long records = Math.max(10_000, (long) (warm.msgPerSec() * s.measure().toSeconds()));
    Result produced = parse(broker, producerPerformance(r, topic, w, records, log, s), w, d);
    if (w != Workload.CONSUME_1KIB) {
      return List.of(produced);
    }
    // The backlog is warm.messages + records; the consumer reads all of it from the start.
    long backlog = warm.messages() + produced.messages();
    Path clog = log.resolveSibling("consumer-performance-" + d + "-" + broker.length() + ".log");
    return List.of(parseConsumer(broker, consumerPerformance(r, topic, backlog, clog, s), w, d));
  }

  private String consumerPerformance(Running r, String topic, long records, Path log, Settings s)
      throws Exception {
    return Procs.run(
        java(
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            "127.0.0.1:" + r.port("kafka"),
            "--topic",
            topic,
            "--num-records",
            "" + records,
            "--timeout",
            "60000",
            "--hide-header"),
        Map.of(),
        log,
        s.measure().multipliedBy(4).plus(Duration.ofMinutes(2)));
  }

  /**
   * Reads ConsumerPerformance's CSV line: start, end, MB, MB/s, messages, messages/s, rebalance ms,
   * fetch ms, fetch MB/s, fetch messages/s. The rate reported is the whole run's (the group's join
   * included), as the tool prints first.
   */
  static Result parseConsumer(String broker, String output, Workload w, Durability d) {
    for (String line : output.lines().toList().reversed()) {
      String[] f = line.split(",\\s*");
      if (f.length >= 10) {
        try {
          double mbs = Double.parseDouble(f[3]) * 1.048576;
          long n = Long.parseLong(f[4].trim());
          double rate = Double.parseDouble(f[5]);
          return new Result(
              broker,
              "ConsumerPerformance (kafka-tools " + VERSION + ")",
              w,
              d,
              rate,
              mbs,
              Double.NaN,
              Double.NaN,
              Double.NaN,
              n,
              "one consumer in a new group from the earliest offset; rebalance time "
                  + f[6].trim()
                  + " ms included, fetch-only rate "
                  + Math.round(Double.parseDouble(f[9]))
                  + " msg/s");
        } catch (NumberFormatException notTheSummary) {
          // a log line with commas
        }
      }
    }
    throw new IllegalStateException("no ConsumerPerformance summary in: " + output);
  }

  private String producerPerformance(
      Running r, String topic, Workload w, long records, Path log, Settings s) throws Exception {
    return Procs.run(
        java(
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            "" + records,
            "--record-size",
            "" + w.sizeBytes,
            "--throughput",
            "-1",
            "--producer-props",
            "bootstrap.servers=127.0.0.1:" + r.port("kafka"),
            "acks=all"),
        Map.of(),
        log,
        s.measure().multipliedBy(4).plus(Duration.ofMinutes(2)));
  }

  private static final Pattern SUMMARY =
      Pattern.compile(
          "(\\d+) records sent, ([\\d.]+) records/sec \\(([\\d.]+) MB/sec\\), [\\d.]+ ms avg latency,"
              + " [\\d.]+ ms max latency, (\\d+) ms 50th, \\d+ ms 95th, (\\d+) ms 99th, (\\d+) ms"
              + " 99.9th");

  /** Reads ProducerPerformance's summary line (its last). Its percentiles are whole ms. */
  static Result parse(String output, Workload w, Durability d) {
    return parse("Kafka", output, w, d);
  }

  /** As {@link #parse(String, Workload, Durability)}, reported as {@code broker}. */
  static Result parse(String broker, String output, Workload w, Durability d) {
    Matcher m = null;
    for (String line : output.lines().toList()) {
      Matcher candidate = SUMMARY.matcher(line);
      if (candidate.find()) {
        m = candidate;
      }
    }
    if (m == null) {
      throw new IllegalStateException("no ProducerPerformance summary in: " + output);
    }
    return new Result(
        broker,
        TOOL,
        w,
        d,
        Double.parseDouble(m.group(2)),
        Double.parseDouble(m.group(3)) * 1.048576, // it reports MiB/s
        Long.parseLong(m.group(4)) * 1000.0,
        Long.parseLong(m.group(5)) * 1000.0,
        Long.parseLong(m.group(6)) * 1000.0,
        Long.parseLong(m.group(1)),
        "acks=all; latency in whole ms as the tool reports it");
  }

  private Result endToEnd(
      String broker, Running r, String topic, Workload w, Durability d, Settings s)
      throws Exception {
    Properties pp = common(r);
    pp.put("acks", "all");
    Properties cp = common(r);
    cp.put("auto.offset.reset", "earliest");
    Load load = s.load(w);
    AtomicBoolean running = new AtomicBoolean(true);
    try (KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(List.of(new TopicPartition(topic, 0)));
      Thread poller =
          Thread.ofPlatform()
              .name("kafka-consumer")
              .start(
                  () -> {
                    while (running.get()) {
                      for (ConsumerRecord<byte[], byte[]> rec :
                          consumer.poll(Duration.ofMillis(100))) {
                        load.received(rec.value());
                      }
                    }
                  });
      load.publish(
          (payload, done, failed) ->
              producer.send(
                  new ProducerRecord<>(topic, payload),
                  (meta, e) -> {
                    if (e != null) {
                      failed.accept(e);
                    } else {
                      done.run();
                    }
                  }));
      load.drain(1);
      running.set(false);
      poller.join();
    }
    return load.result(broker, CLIENT, d, 1, "acks=all, client defaults otherwise");
  }
}
