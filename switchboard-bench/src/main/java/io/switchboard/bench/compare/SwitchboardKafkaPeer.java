package io.switchboard.bench.compare;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Switchboard through its Kafka front end, driven exactly as Apache Kafka is: Kafka's own
 * ProducerPerformance and ConsumerPerformance (kafka-tools) and the suite's kafka-clients latency
 * driver, so the two brokers meet on the same tools and settings.
 */
final class SwitchboardKafkaPeer implements Peer {
  static final String NAME = "Switchboard (Kafka protocol)";

  private final Path root;
  private final KafkaPeer driver;

  SwitchboardKafkaPeer(Path root, Path kafkaLibs) {
    this.root = root;
    this.driver = new KafkaPeer(kafkaLibs);
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String version() {
    return new SwitchboardPeer(root).version();
  }

  @Override
  public String durability(Durability d) {
    return d == Durability.DEFAULT
        ? "stream fsync policy `interval` (written before the ack, fsynced within 1 s)"
        : "topic config `flush.messages=1` (stream fsync policy `always`: fsynced before the ack,"
            + " group commit)";
  }

  @Override
  public boolean supports(Durability d) {
    return true;
  }

  @Override
  public List<Workload> workloads() {
    return driver.workloads();
  }

  @Override
  public Running start(Path dir, Durability d) throws Exception {
    int nativePort = Running.freePort();
    int kafka = Running.freePort();
    Path log = dir.resolve("switchboard.log");
    Process p =
        Procs.start(
            List.of(
                root.resolve("switchboard").toString(),
                "server",
                "--data",
                dir.resolve("data").toString(),
                "--port",
                "" + nativePort,
                "--set",
                "kafka.port=" + kafka,
                "--set",
                "http.port=-1",
                "--set",
                "mqtt.port=-1"),
            Map.of(),
            log);
    return new Running(List.of(p), Map.of("native", nativePort, "kafka", kafka), log)
        .awaitListening(Duration.ofSeconds(60));
  }

  @Override
  public List<Result> run(Running r, Workload w, Durability d, Settings s) throws Exception {
    Map<String, String> topic = d == Durability.FSYNC ? Map.of("flush.messages", "1") : Map.of();
    return driver.runAs(NAME, r, w, d, s, topic);
  }
}
