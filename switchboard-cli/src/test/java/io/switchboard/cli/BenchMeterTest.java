package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The bench's payload stamp, its counters and its progress line, without a server or clock. */
class BenchMeterTest {

  @Test
  void shouldCarryTheIntendedSendTimeAndPhaseInThePayload() {
    byte[] measured = BenchMeter.stamp(100, 123_456_789L, true);
    byte[] warmup = BenchMeter.stamp(BenchMeter.HEADER_BYTES, -5L, false);
    assertThat(measured).hasSize(100);
    assertThat(BenchMeter.intendedNs(measured)).isEqualTo(123_456_789L);
    assertThat(BenchMeter.measured(measured)).isTrue();
    assertThat(BenchMeter.intendedNs(warmup)).isEqualTo(-5L);
    assertThat(BenchMeter.measured(warmup)).isFalse();
    assertThat(BenchMeter.measured(new byte[3])).isFalse();
  }

  @Test
  void shouldCountOnlyMeasuredMessagesAndTimeThemFromTheirIntendedSendTime() {
    BenchMeter meter = new BenchMeter();
    meter.publishAcked(true, 1_000, 3_000);
    meter.publishAcked(false, 1_000, 900_000);
    meter.messageReceived(BenchMeter.stamp(16, 10_000, true), 15_000);
    meter.messageReceived(BenchMeter.stamp(16, 10_000, false), 999_000);
    meter.harvest();
    assertThat(meter.acked.sum()).isEqualTo(1);
    assertThat(meter.ackedAllPhases.sum()).isEqualTo(2);
    assertThat(meter.received.sum()).isEqualTo(1);
    assertThat(meter.receivedAllPhases.sum()).isEqualTo(2);
    assertThat(meter.publishLatency().getTotalCount()).isEqualTo(1);
    assertThat(
            meter.publishLatency().valuesAreEquivalent(meter.publishLatency().getMaxValue(), 2_000))
        .isTrue();
    assertThat(
            meter
                .endToEndLatency()
                .valuesAreEquivalent(meter.endToEndLatency().getMaxValue(), 5_000))
        .isTrue();
    assertThat(meter.lastAckNs(-1)).isEqualTo(3_000);
    assertThat(meter.lastReceiveNs(-1)).isEqualTo(15_000);
  }

  @Test
  void shouldNotLoseLatenciesAcrossHarvests() {
    BenchMeter meter = new BenchMeter();
    meter.publishAcked(true, 0, 1_000);
    meter.harvest();
    meter.publishAcked(true, 0, 2_000);
    meter.harvest();
    meter.harvest();
    assertThat(meter.publishLatency().getTotalCount()).isEqualTo(2);
  }

  @Test
  void shouldPrintRatesAndP99OnTheProgressLine() {
    BenchMeter meter = new BenchMeter();
    for (int i = 0; i < 100; i++) {
      meter.publishAcked(true, 0, 1_500_000);
      meter.messageReceived(BenchMeter.stamp(16, 0, true), 0);
    }
    StringWriter err = new StringWriter();
    new BenchProgress(meter, true, Long.MIN_VALUE, 1000, new PrintWriter(err)).tick(true);
    assertThat(err.toString())
        .startsWith("   1s  pub ")
        .contains(" msg/s ")
        .contains("  recv ")
        .contains("  p99 0 us");
    StringWriter quiet = new StringWriter();
    new BenchProgress(meter, false, Long.MIN_VALUE, 1000, new PrintWriter(quiet)).tick(false);
    assertThat(quiet.toString()).isEmpty();
  }

  @Test
  void shouldFormatLatenciesForPeople() {
    assertThat(BenchProgress.latency(812_400)).isEqualTo("812 us");
    assertThat(BenchProgress.latency(1_234_000)).isEqualTo("1.23 ms");
    assertThat(BenchProgress.latency(2_500_000_000L)).isEqualTo("2.50 s");
  }
}
