package io.switchboard.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.cli.BenchCommand.BenchMode;
import java.io.PrintWriter;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * The final report of {@code switchboard bench}, taken once the run is over: counts, throughput and
 * latency percentiles. Immutable once built; printed for people or as one JSON object.
 *
 * <p>Throughput counts measured messages only (not the warm-up), over the time from the end of the
 * warm-up to the last acknowledgement (publishing) or the last receipt (receiving). The headline
 * figures ({@code msgPerSec}, {@code latency}) are publishing's in pub mode and receiving's
 * (deliveries, summed over subscribers) in pubsub and queue modes.
 */
final class BenchReport {
  private final BenchCommand cmd;
  private final BenchMode mode;
  private final long published;
  private final long acked;
  private final long publishFailed;
  private final long received;
  private final long expected;
  private final long dropped;
  private final long redelivered;
  private final long consumerAcked;
  private final long publishNs;
  private final long receiveNs;
  private final Histogram publishLatency;
  private final Histogram endToEndLatency;

  BenchReport(BenchCommand cmd, BenchMeter meter, long dropped, long expected, long startNs) {
    this.cmd = cmd;
    this.mode = cmd.benchMode();
    this.published = meter.published.sum();
    this.acked = meter.acked.sum();
    this.publishFailed = meter.publishFailed.sum();
    this.received = meter.received.sum();
    this.expected = expected;
    this.dropped = dropped;
    this.redelivered = meter.redelivered.sum();
    this.consumerAcked = meter.consumerAcked.sum();
    this.publishNs = Math.max(0, meter.lastAckNs(startNs) - startNs);
    this.receiveNs = Math.max(0, meter.lastReceiveNs(startNs) - startNs);
    this.publishLatency = meter.publishLatency().copy();
    this.endToEndLatency = meter.endToEndLatency().copy();
  }

  /** Acknowledged publishes that no receiver got and the server did not report dropping. */
  long missing() {
    return mode == BenchMode.PUB ? 0 : Math.max(0, expected - received - dropped);
  }

  ObjectNode toJson() {
    ObjectNode n = Output.JSON.createObjectNode();
    n.put("mode", mode.name().toLowerCase(Locale.ROOT));
    n.put("publishers", cmd.publishers);
    n.put("subscribers", cmd.subscriberCount());
    n.put("consumers", cmd.consumerCount());
    n.put("sizeBytes", cmd.sizeBytes);
    n.put("rateMsgPerSec", cmd.rate);
    n.put("maxInFlight", cmd.maxInFlight);
    n.put("warmupMs", cmd.warmup.toMillis());
    n.put("stream", cmd.streamName());
    n.put("fsync", cmd.fsync);
    n.put("partitions", cmd.partitions);
    n.put("ack", mode == BenchMode.QUEUE ? (cmd.ackEach() ? "each" : "none") : null);
    n.put("noAck", cmd.noAck);
    n.put("published", published);
    n.put("acked", acked);
    n.put("publishFailed", publishFailed);
    if (mode != BenchMode.PUB) {
      n.put("expected", expected);
      n.put("received", received);
      n.put("dropped", dropped);
      n.put("missing", missing());
    }
    if (mode == BenchMode.QUEUE) {
      n.put("consumerAcked", consumerAcked);
      n.put("redelivered", redelivered);
    }
    boolean pub = mode == BenchMode.PUB;
    long headlineNs = pub ? publishNs : receiveNs;
    long headlineCount = pub ? acked : received;
    n.put("elapsedMs", round(headlineNs / 1e6, 1));
    n.put("msgPerSec", round(rate(headlineCount, headlineNs), 0));
    n.put("mbPerSec", round(rate(headlineCount, headlineNs) * cmd.sizeBytes / 1e6, 2));
    n.set(
        "latency",
        latency(pub ? "publish-ack" : "end-to-end", pub ? publishLatency : endToEndLatency));
    if (!pub) {
      n.set("publish", throughput(acked, publishNs));
      n.set("receive", throughput(received, receiveNs));
      n.set("publishLatency", latency("publish-ack", publishLatency));
    }
    return n;
  }

  void print(PrintWriter out) {
    out.println(title());
    out.println(
        String.format(
            Locale.ROOT,
            "published %,d in %.3f s: %,.0f msg/s, %,.2f MB/s; %,d %s%s",
            published,
            publishNs / 1e9,
            rate(acked, publishNs),
            rate(acked, publishNs) * cmd.sizeBytes / 1e6,
            acked,
            cmd.noAck ? "written (--no-ack)" : "acknowledged",
            publishFailed > 0 ? String.format(Locale.ROOT, ", %,d failed", publishFailed) : ""));
    if (mode != BenchMode.PUB) {
      StringBuilder line =
          new StringBuilder(
              String.format(
                  Locale.ROOT,
                  "received  %,d of %,d in %.3f s: %,.0f msg/s, %,.2f MB/s",
                  received,
                  expected,
                  receiveNs / 1e9,
                  rate(received, receiveNs),
                  rate(received, receiveNs) * cmd.sizeBytes / 1e6));
      if (mode == BenchMode.PUBSUB) {
        line.append(String.format(Locale.ROOT, "; %,d dropped by the server", dropped));
      } else {
        if (cmd.ackEach()) {
          line.append(String.format(Locale.ROOT, "; %,d acknowledged", consumerAcked));
        }
        line.append(String.format(Locale.ROOT, ", %,d redelivered", redelivered));
      }
      out.println(line);
      out.println(percentiles("end-to-end latency ", endToEndLatency));
    }
    out.println(
        percentiles(cmd.noAck ? "publish-written    " : "publish-ack latency", publishLatency));
    out.flush();
  }

  private String title() {
    StringBuilder b =
        new StringBuilder("bench ")
            .append(mode.name().toLowerCase(Locale.ROOT))
            .append(": ")
            .append(plural(cmd.publishers, "publisher"));
    if (mode == BenchMode.PUBSUB) {
      b.append(", ").append(plural(cmd.subscriberCount(), "subscriber"));
    } else if (mode == BenchMode.QUEUE) {
      b.append(", ")
          .append(plural(cmd.consumerCount(), "consumer"))
          .append(" (shared, ack ")
          .append(cmd.ackEach() ? "each" : "none")
          .append(')');
    }
    b.append(String.format(Locale.ROOT, ", %,d B", cmd.sizeBytes))
        .append(cmd.rate == 0 ? ", max rate" : String.format(Locale.ROOT, ", %,d msg/s", cmd.rate))
        .append(String.format(Locale.ROOT, ", %,d in flight", cmd.maxInFlight));
    if (cmd.noAck) {
      b.append(", no publish acks");
    }
    if (cmd.streamName() == null) {
      b.append(", live (no stream)");
    } else {
      b.append(", stream ").append(cmd.streamName());
      b.append(" (fsync ").append(cmd.fsync == null ? "server default" : cmd.fsync);
      if (cmd.partitions != null) {
        b.append(", ").append(plural(cmd.partitions, "partition"));
      }
      b.append(')');
    }
    return b.toString();
  }

  private static String percentiles(String label, Histogram h) {
    return String.format(
        Locale.ROOT,
        "%s  p50 %s  p99 %s  p99.9 %s  max %s  (%,d samples)",
        label,
        BenchProgress.latency(h.getValueAtPercentile(50.0)),
        BenchProgress.latency(h.getValueAtPercentile(99.0)),
        BenchProgress.latency(h.getValueAtPercentile(99.9)),
        BenchProgress.latency(h.getMaxValue()),
        h.getTotalCount());
  }

  private ObjectNode throughput(long count, long ns) {
    ObjectNode n = Output.JSON.createObjectNode();
    n.put("messages", count);
    n.put("elapsedMs", round(ns / 1e6, 1));
    n.put("msgPerSec", round(rate(count, ns), 0));
    n.put("mbPerSec", round(rate(count, ns) * cmd.sizeBytes / 1e6, 2));
    return n;
  }

  /** Percentiles in microseconds. HdrHistogram keeps them ordered: p50 <= p99 <= p99.9 <= max. */
  private static ObjectNode latency(String kind, Histogram h) {
    ObjectNode n = Output.JSON.createObjectNode();
    n.put("kind", kind);
    n.put("count", h.getTotalCount());
    n.put("p50Us", round(h.getValueAtPercentile(50.0) / 1e3, 1));
    n.put("p99Us", round(h.getValueAtPercentile(99.0) / 1e3, 1));
    n.put("p999Us", round(h.getValueAtPercentile(99.9) / 1e3, 1));
    n.put("maxUs", round(h.getMaxValue() / 1e3, 1));
    return n;
  }

  private static double rate(long count, long ns) {
    return ns <= 0 ? 0 : count * 1e9 / ns;
  }

  private static double round(double v, int decimals) {
    double scale = Math.pow(10, decimals);
    return Math.round(v * scale) / scale;
  }

  private static String plural(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }
}
