package io.switchboard.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The once-a-second progress line of {@code switchboard bench} on stderr: publish and receive rates
 * over the last second, and the p99 latency so far. Confined to the progress thread, which is also
 * the one that {@link BenchMeter#harvest() harvests} the meter while the run lasts.
 */
final class BenchProgress {
  private final BenchMeter meter;
  private final boolean endToEnd;
  private final long warmupEndNs;
  private final int sizeBytes;
  private final PrintWriter err;
  private long lastNs = System.nanoTime();
  private long lastAcked;
  private long lastReceived;
  private int seconds;

  BenchProgress(
      BenchMeter meter, boolean endToEnd, long warmupEndNs, int sizeBytes, PrintWriter err) {
    this.meter = meter;
    this.endToEnd = endToEnd;
    this.warmupEndNs = warmupEndNs;
    this.sizeBytes = sizeBytes;
    this.err = err;
  }

  /** Harvests the meter and, when {@code print}, prints one line. */
  void tick(boolean print) {
    meter.harvest();
    long nowNs = System.nanoTime();
    double s = Math.max(1e-9, (nowNs - lastNs) / 1e9);
    long acked = meter.ackedAllPhases.sum();
    long received = meter.receivedAllPhases.sum();
    double pubRate = (acked - lastAcked) / s;
    double recvRate = (received - lastReceived) / s;
    lastNs = nowNs;
    lastAcked = acked;
    lastReceived = received;
    seconds++;
    if (!print) {
      return;
    }
    Histogram h = endToEnd ? meter.endToEndLatency() : meter.publishLatency();
    StringBuilder line =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "%4ds  pub %,.0f msg/s %,.1f MB/s",
                seconds,
                pubRate,
                pubRate * sizeBytes / 1e6));
    if (endToEnd) {
      line.append(
          String.format(
              Locale.ROOT, "  recv %,.0f msg/s %,.1f MB/s", recvRate, recvRate * sizeBytes / 1e6));
    }
    if (nowNs < warmupEndNs) {
      line.append("  (warm-up)");
    } else if (h.getTotalCount() > 0) {
      line.append("  p99 ").append(latency(h.getValueAtPercentile(99.0)));
    }
    err.println(line);
    err.flush();
  }

  /** A latency for people: {@code 812 us}, {@code 1.23 ms}, {@code 2.5 s}. */
  static String latency(long ns) {
    if (ns < TimeUnit.MILLISECONDS.toNanos(1)) {
      return String.format(Locale.ROOT, "%.0f us", ns / 1e3);
    }
    if (ns < TimeUnit.SECONDS.toNanos(1)) {
      return String.format(Locale.ROOT, "%.2f ms", ns / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f s", ns / 1e9);
  }
}
