package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The Kafka tools' summaries, as the suite reads them. */
class KafkaPeerParseTest {
  @Test
  void consumerPerformancesCsvLineGivesTheRunsRate() {
    String out =
        "WARNING: something, with, commas\n"
            + "2026-12-03 13:20:00:000, 2026-12-03 13:20:05:000, 97.6563, 19.5313, 100000,"
            + " 20000.0000, 3001, 1999, 48.8525, 50025.0125\n";
    Result r =
        KafkaPeer.parseConsumer(
            "Switchboard (Kafka protocol)", out, Workload.CONSUME_1KIB, Durability.DEFAULT);
    assertThat(r.broker()).isEqualTo("Switchboard (Kafka protocol)");
    assertThat(r.msgPerSec()).isEqualTo(20000.0);
    assertThat(r.messages()).isEqualTo(100000);
    assertThat(r.note()).contains("3001 ms").contains("50025 msg/s");
  }

  @Test
  void aRunWithoutASummaryIsAnError() {
    assertThatThrownBy(
            () ->
                KafkaPeer.parseConsumer(
                    "Kafka", "nothing here\n", Workload.CONSUME_1KIB, Durability.DEFAULT))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void producerPerformancesSummaryIsReportedUnderTheBrokerNamed() {
    String out =
        "500000 records sent, 99990.0 records/sec (9.54 MB/sec), 12.3 ms avg latency, 200.0 ms"
            + " max latency, 10 ms 50th, 30 ms 95th, 50 ms 99th, 90 ms 99.9th.\n";
    Result r =
        KafkaPeer.parse(
            "Switchboard (Kafka protocol)", out, Workload.PUBLISH_100B, Durability.FSYNC);
    assertThat(r.broker()).isEqualTo("Switchboard (Kafka protocol)");
    assertThat(r.msgPerSec()).isEqualTo(99990.0);
    assertThat(r.p99Us()).isEqualTo(50_000.0);
  }
}
