package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The shared measuring loop, driven by senders that need no broker. */
class LoadTest {
  @Test
  void atAFixedRateEveryMeasuredMessageIsSentAndReceivedOnce() throws Exception {
    Load load =
        new Load(Workload.LATENCY_1KIB, Duration.ofMillis(200), Duration.ofMillis(500), 100);
    AtomicLong sent = new AtomicLong();
    load.publish(
        (payload, done, failed) -> {
          assertThat(payload).hasSize(1024);
          sent.incrementAndGet();
          load.received(payload);
          done.run();
        });
    load.drain(1);
    Result r = load.result("B", "c", Durability.DEFAULT, 1, "");
    // 10,000 msg/s for 0.7 s in all, 0.5 s of it measured: the schedule decides the counts.
    assertThat(sent.get()).isEqualTo(7_000);
    assertThat(load.publishedMeasured()).isEqualTo(5_000);
    assertThat(r.messages()).isEqualTo(5_000);
    assertThat(r.msgPerSec()).isCloseTo(10_000, within(1_000.0));
    assertThat(r.p50Us()).isLessThanOrEqualTo(r.p99Us());
    assertThat(r.note()).isEmpty();
  }

  @Test
  void messagesNeverReceivedAndFailedSendsAreReported() throws Exception {
    Load load = new Load(Workload.WORK_QUEUE, Duration.ofMillis(50), Duration.ofMillis(100), 10);
    AtomicLong n = new AtomicLong();
    load.publish(
        (payload, done, failed) -> {
          if (n.incrementAndGet() % 2 == 0) {
            load.received(payload);
            done.run();
          } else {
            failed.accept(new IllegalStateException("refused"));
          }
        });
    Result r = load.result("B", "c", Durability.DEFAULT, 2, "");
    assertThat(r.note())
        .contains("not received")
        .contains("publishes failed: java.lang.IllegalStateException: refused");
  }

  @Test
  void roundTripsCountOnlyTheMeasuredWindow() throws Exception {
    Load load = new Load(Workload.REQUEST_REPLY, Duration.ofMillis(50), Duration.ofMillis(100), 1);
    AtomicLong calls = new AtomicLong();
    load.roundTrips(
        payload -> {
          calls.incrementAndGet();
          load.received(payload);
        });
    Result r = load.result("B", "c", Durability.DEFAULT, 1, "");
    assertThat(r.messages()).isPositive().isLessThanOrEqualTo(calls.get());
    assertThat(r.p50Us()).isNotNaN();
  }

  @Test
  void aStampSurvivesTheRoundTrip() {
    Load load = new Load(Workload.PUBLISH_100B, Duration.ZERO, Duration.ofMillis(1), 1);
    assertThat(Load.stamp(load.payload(123_456_789L))).isEqualTo(123_456_789L);
    assertThat(load.payload(1)).hasSize(100);
  }
}
