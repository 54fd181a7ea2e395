package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Ratios, goals and the Markdown of a run. */
class ReportTest {
  static Result r(
      String broker, Workload w, Durability d, double msgPerSec, double p50Us, double p99Us) {
    return new Result(
        broker,
        "client",
        w,
        d,
        msgPerSec,
        msgPerSec * w.sizeBytes / 1e6,
        p50Us,
        p99Us,
        p99Us * 2,
        1000,
        "");
  }

  static final List<Result> RUN =
      List.of(
          r("Switchboard", Workload.PUBLISH_100B, Durability.DEFAULT, 300_000, 500, 2_000),
          r("Kafka", Workload.PUBLISH_100B, Durability.DEFAULT, 100_000, 5_000, 20_000),
          r("Switchboard", Workload.WORK_QUEUE, Durability.DEFAULT, 40_000, 500, 2_000),
          r("RabbitMQ", Workload.WORK_QUEUE, Durability.DEFAULT, 10_000, 500, 2_000),
          r("Switchboard", Workload.FANOUT_1, Durability.DEFAULT, 500_000, 100, 900),
          r("Switchboard (MQTT)", Workload.FANOUT_1, Durability.DEFAULT, 50_000, 100, 900),
          r("NATS", Workload.FANOUT_1, Durability.DEFAULT, 400_000, 100, 800),
          r("Mosquitto", Workload.FANOUT_1, Durability.DEFAULT, 100_000, 100, 800),
          r("Switchboard", Workload.REQUEST_REPLY, Durability.DEFAULT, 4_000, 200, 500),
          r("NATS", Workload.REQUEST_REPLY, Durability.DEFAULT, 3_000, 300, 600),
          r("Switchboard", Workload.PUBLISH_100B, Durability.FSYNC, 80_000, 5_000, 9_000),
          r("Kafka", Workload.PUBLISH_100B, Durability.FSYNC, 20_000, 9_000, 19_000),
          r("RabbitMQ", Workload.PUBLISH_100B, Durability.FSYNC, 90_000, 900, 1_900),
          Result.failed(
              "NATS", "", Workload.PUBLISH_1KIB, Durability.DEFAULT, "did not start: x|y"));

  @Test
  void kafkaIsComparedWithTheKafkaFrontEndWhenItRanTheSameToolsAndTheGoalsSaySo() {
    Result kafka = r("Kafka", Workload.PUBLISH_100B, Durability.DEFAULT, 100_000, 5_000, 20_000);
    Result kafkaConsumer = r("Kafka", Workload.CONSUME_1KIB, Durability.DEFAULT, 150_000, 0, 0);
    List<Result> run =
        List.of(
            r("Switchboard", Workload.PUBLISH_100B, Durability.DEFAULT, 300_000, 500, 2_000),
            r(SwitchboardKafkaPeer.NAME, Workload.PUBLISH_100B, Durability.DEFAULT, 120_000, 1, 1),
            kafka,
            r(SwitchboardKafkaPeer.NAME, Workload.CONSUME_1KIB, Durability.DEFAULT, 180_000, 0, 0),
            kafkaConsumer);
    assertThat(Report.ratio(run, kafka)).hasValueSatisfying(x -> assertThat(x).isEqualTo(1.2));
    assertThat(Report.ratio(run, kafkaConsumer))
        .hasValueSatisfying(x -> assertThat(x).isEqualTo(1.2));
    // Without a Kafka-protocol row, Kafka is compared with the native protocol as before.
    assertThat(Report.ratio(RUN, RUN.get(1))).hasValueSatisfying(x -> assertThat(x).isEqualTo(3.0));
    List<Report.Goal> goals = Report.goals(run);
    assertThat(goals)
        .filteredOn(g -> g.goal().startsWith("Kafka protocol (issue 14): producer 100 B"))
        .singleElement()
        .satisfies(g -> assertThat(g.met()).isFalse());
    assertThat(goals)
        .filteredOn(g -> g.goal().startsWith("Kafka protocol (issue 14): consumer"))
        .singleElement()
        .satisfies(g -> assertThat(g.met()).isTrue());
  }

  @Test
  void ratiosCompareWithTheRightSwitchboardRow() {
    assertThat(Report.ratio(RUN, RUN.get(1))).hasValueSatisfying(x -> assertThat(x).isEqualTo(3.0));
    // Mosquitto is compared with Switchboard's MQTT front end, NATS with the native protocol.
    assertThat(Report.ratio(RUN, RUN.get(7))).hasValueSatisfying(x -> assertThat(x).isEqualTo(0.5));
    assertThat(Report.ratio(RUN, RUN.get(6)))
        .hasValueSatisfying(x -> assertThat(x).isEqualTo(1.25));
    // Latency workloads: the peer's p50 over Switchboard's, so above 1 is Switchboard ahead.
    assertThat(Report.ratio(RUN, RUN.get(9)))
        .hasValueSatisfying(x -> assertThat(x).isCloseTo(1.5, within(1e-9)));
    assertThat(Report.ratio(RUN, RUN.get(0))).isEmpty();
    assertThat(Report.ratio(RUN, RUN.get(13))).isEmpty();
  }

  @Test
  void goalsSayMetMissedOrNotMeasured() {
    Map<String, Boolean> met =
        Report.goals(RUN).stream()
            .collect(
                java.util.stream.Collectors.toMap(
                    Report.Goal::goal,
                    g -> g.met() == null ? Boolean.FALSE : g.met(),
                    (a, b) -> a,
                    java.util.LinkedHashMap::new));
    assertThat(met).containsEntry("Persisted publish 100 B ≥ 1.5× Kafka", true);
    assertThat(met).containsEntry("Work queue, per-message ack ≥ 5× RabbitMQ", false);
    // 1.25× NATS's throughput but a worse p99: not met.
    assertThat(met).containsEntry("Live fan-out to 1 ≥ NATS core msg/s, p99 ≤ NATS", false);
    assertThat(met).containsEntry("Request/reply p50 ≤ NATS", true);
    // Ahead of Kafka but behind RabbitMQ with fsync: not met.
    assertThat(met).containsEntry("Fsync before ack, workload 1: ≥ every peer", false);
    assertThat(Report.goals(RUN))
        .filteredOn(g -> g.goal().equals("MQTT QoS 1 ≥ 2× Mosquitto"))
        .singleElement()
        .satisfies(g -> assertThat(g.met()).isNull());
  }

  @Test
  void theStoredPathLatencyGoalComparesP50WithNatsJetStream() {
    String goal = "End-to-end p50, 1 KiB at 5,000 msg/s, per-message ack ≤ NATS JetStream";
    List<Result> run =
        List.of(
            r("Switchboard", Workload.LATENCY_1KIB_5K, Durability.DEFAULT, 5_000, 400, 9_000),
            r("NATS", Workload.LATENCY_1KIB_5K, Durability.DEFAULT, 5_000, 450, 2_000));
    assertThat(Report.goals(run))
        .filteredOn(g -> g.goal().equals(goal))
        .singleElement()
        .satisfies(g -> assertThat(g.met()).isTrue());
    assertThat(Report.goals(run.subList(0, 1)))
        .filteredOn(g -> g.goal().equals(goal))
        .singleElement()
        .satisfies(g -> assertThat(g.met()).isNull());
  }

  @Test
  void markdownHasATablePerDurabilityAndEscapesNotes() {
    Report.Run run =
        new Report.Run(
            "Run of test",
            "2 cores",
            "bench/compare.sh --seconds 30",
            Map.of("Kafka", "4.4.0"),
            Map.of("Kafka", Map.of(Durability.DEFAULT, "acks=all", Durability.FSYNC, "flush")),
            List.of("img/x-throughput.png"));
    String md = Report.markdown(run, RUN);
    assertThat(md)
        .contains("### Run of test")
        .contains("#### Default durability")
        .contains("#### Fsync before ack")
        .contains(
            "| 1 | Persisted publish, 100 B, one producer, max rate | Kafka | client | 100,000 | 10.0 | 5.0 ms | 20.0 ms | 40.0 ms | 3.00× |")
        .contains("did not start: x\\|y")
        .contains("| Kafka | acks=all | flush |")
        .contains("![img/x-throughput.png](img/x-throughput.png)");
  }

  @Test
  void aNewRunGoesAboveEarlierOnes() {
    String first = Report.insert("# Benchmarks\n\nIn-process figures.\n", "### Run A\n");
    assertThat(first).startsWith("# Benchmarks\n\nIn-process figures.\n").contains(Report.MARKER);
    String second = Report.insert(first, "### Run B\n");
    assertThat(second.indexOf("### Run B")).isLessThan(second.indexOf("### Run A"));
    assertThat(second.indexOf(Report.MARKER)).isLessThan(second.indexOf("### Run B"));
    assertThat(second).startsWith("# Benchmarks\n\nIn-process figures.\n");
  }
}
