package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Reading what the load tools print, and the command lines and configurations the suite writes. */
class ParsersTest {
  static final Settings SETTINGS =
      new Settings(
          Path.of("/repo"),
          Path.of("/libs"),
          Path.of("/work"),
          Duration.ofSeconds(5),
          Duration.ofSeconds(30));

  @Test
  void producerPerformanceSummaryIsTheLastMatchingLine() {
    String out =
        "101 records sent, 20.2 records/sec (0.00 MB/sec), 3.0 ms avg latency, 9.0 ms max latency.\n"
            + "1000000 records sent, 218340.6 records/sec (20.82 MB/sec), 95.53 ms avg latency,"
            + " 401.00 ms max latency, 85 ms 50th, 228 ms 95th, 321 ms 99th, 388 ms 99.9th.\n";
    Result r = KafkaPeer.parse(out, Workload.PUBLISH_100B, Durability.FSYNC);
    assertThat(r.broker()).isEqualTo("Kafka");
    assertThat(r.msgPerSec()).isEqualTo(218340.6);
    assertThat(r.mbPerSec()).isCloseTo(20.82 * 1.048576, within(1e-9));
    assertThat(r.p50Us()).isEqualTo(85_000);
    assertThat(r.p99Us()).isEqualTo(321_000);
    assertThat(r.p999Us()).isEqualTo(388_000);
    assertThat(r.messages()).isEqualTo(1_000_000);
    assertThat(r.durability()).isEqualTo(Durability.FSYNC);
  }

  @Test
  void producerPerformanceWithoutASummaryIsAnError() {
    assertThatThrownBy(
            () ->
                KafkaPeer.parse(
                    "Exception in thread main\n", Workload.PUBLISH_100B, Durability.DEFAULT))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no ProducerPerformance summary");
  }

  @Test
  void switchboardBenchJsonReportIsRead() throws Exception {
    String out =
        "progress line\n"
            + "{\"mode\":\"queue\",\"received\":900,\"missing\":100,\"dropped\":0,\"msgPerSec\":30000.0,"
            + "\"mbPerSec\":30.72,\"latency\":{\"kind\":\"end-to-end\",\"p50Us\":120.5,\"p99Us\":900.0,"
            + "\"p999Us\":1500.0,\"maxUs\":2000.0}}\n";
    Result r = SwitchboardPeer.parseBench(out, Workload.WORK_QUEUE, Durability.DEFAULT);
    assertThat(r.msgPerSec()).isEqualTo(30_000);
    assertThat(r.mbPerSec()).isEqualTo(30.72);
    assertThat(r.p50Us()).isEqualTo(120.5);
    assertThat(r.p99Us()).isEqualTo(900);
    assertThat(r.p999Us()).isEqualTo(1500);
    assertThat(r.messages()).isEqualTo(900);
    assertThat(r.note()).isEqualTo("100 not received");
  }

  @Test
  void benchAsksForFsyncOnlyWhenTheRunDoesAndStoresSomething() {
    assertThat(
            SwitchboardPeer.benchCommand(
                "sb", 7400, Workload.PUBLISH_100B, Durability.FSYNC, SETTINGS, "pub"))
        .containsSequence("--fsync", "always")
        .containsSequence("--size", "100")
        .containsSequence("--duration", "30s")
        .containsSequence("--warmup", "5s")
        .containsSequence("--server", "127.0.0.1:7400");
    assertThat(
            SwitchboardPeer.benchCommand(
                "sb", 7400, Workload.PUBLISH_100B, Durability.DEFAULT, SETTINGS, "pub"))
        .doesNotContain("--fsync");
    assertThat(
            SwitchboardPeer.benchCommand(
                "sb", 7400, Workload.FANOUT_1, Durability.FSYNC, SETTINGS, "pubsub"))
        .doesNotContain("--fsync");
  }

  @Test
  void kafkaFlushesEveryMessageOnlyInTheFsyncRunAndListensOnLoopback() {
    String fsync = KafkaPeer.config(9092, 9093, Path.of("/d"), Durability.FSYNC);
    String dflt = KafkaPeer.config(9092, 9093, Path.of("/d"), Durability.DEFAULT);
    assertThat(fsync).contains("log.flush.interval.messages=1\n");
    assertThat(dflt).doesNotContain("log.flush.interval.messages");
    assertThat(dflt)
        .contains("listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n")
        .contains("controller.quorum.voters=1@127.0.0.1:9093\n")
        .contains("log.dirs=/d\n");
  }

  @Test
  void peersListenOnLoopbackOnly() {
    assertThat(MosquittoPeer.config(1883)).startsWith("listener 1883 127.0.0.1\n");
    assertThat(NatsPeer.config(4222, Path.of("/d")))
        .startsWith("listen: 127.0.0.1:4222\n")
        .contains("store_dir: \"/d/js\"");
    assertThat(RabbitPeer.config(5672)).contains("listeners.tcp.1 = 127.0.0.1:5672\n");
    assertThat(RabbitPeer.environment(Path.of("/d"), 5672, 25672, 4369))
        .containsEntry("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
        .containsEntry("ERL_EPMD_ADDRESS", "127.0.0.1")
        .containsEntry("ERL_EPMD_PORT", "4369")
        .containsEntry("RABBITMQ_MNESIA_BASE", "/d/mnesia");
  }

  @Test
  void optionsHaveDefaultsAndRefuseWhatTheyDoNotKnow() {
    Compare.Options o = Compare.Options.parse("--root", "/r", "--kafka-libs", "/k", "--work", "/w");
    assertThat(o.measure()).isEqualTo(Duration.ofSeconds(30));
    assertThat(o.brokers())
        .containsExactly(
            "switchboard", "switchboard-kafka", "kafka", "rabbitmq", "nats", "mosquitto");
    assertThat(o.doc()).isEqualTo(Path.of("/r/docs/benchmarks.md"));
    assertThat(o.wants(Workload.REQUEST_REPLY)).isTrue();
    Compare.Options some =
        Compare.Options.parse(
            "--root", "/r", "--kafka-libs", "/k", "--work", "/w", "--workloads", "5a,7");
    assertThat(some.wants(Workload.FANOUT_1)).isTrue();
    assertThat(some.wants(Workload.FANOUT_10)).isFalse();
    assertThatThrownBy(
            () ->
                Compare.Options.parse(
                    "--root", "/r", "--kafka-libs", "/k", "--work", "/w", "--brokers", "pulsar"))
        .hasMessageContaining("unknown broker pulsar");
    assertThatThrownBy(
            () ->
                Compare.Options.parse(
                    "--root", "/r", "--kafka-libs", "/k", "--work", "/w", "--workloads", "9"))
        .hasMessageContaining("unknown workload 9");
    assertThatThrownBy(() -> Compare.Options.parse("--root", "/r", "--work", "/w"))
        .hasMessageContaining("--kafka-libs is required");
    assertThatThrownBy(() -> Compare.Options.parse("--root", "/r", "--speed", "x"))
        .hasMessageContaining("unknown option --speed");
  }

  @Test
  void onlyDurabilitySensitiveWorkloadsRunTwice() {
    Compare.Options o = Compare.Options.parse("--root", "/r", "--kafka-libs", "/k", "--work", "/w");
    Peer sb = new SwitchboardPeer(Path.of("/r"));
    // Every workload but the Kafka consumer's (workload 8: the Kafka-protocol peer runs it).
    assertThat(Compare.plan(sb, Durability.DEFAULT, o)).hasSize(Workload.values().length - 1);
    assertThat(
            Compare.plan(
                new SwitchboardKafkaPeer(Path.of("/r"), Path.of("/k")), Durability.DEFAULT, o))
        .contains(Workload.CONSUME_1KIB);
    assertThat(Compare.plan(sb, Durability.FSYNC, o))
        .containsExactly(
            Workload.PUBLISH_100B,
            Workload.PUBLISH_1KIB,
            Workload.LATENCY_1KIB,
            Workload.WORK_QUEUE);
  }
}
