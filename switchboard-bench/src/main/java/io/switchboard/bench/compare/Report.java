package io.switchboard.bench.compare;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The Markdown of one run: machine and versions, what each durability setting means, a table per
 * durability with Switchboard's ratio to each peer, and the goals of issue #7 met or not.
 */
final class Report {
  /** Marks where runs go in docs/benchmarks.md: the newest right after it, earlier ones below. */
  static final String MARKER = "<!-- side-by-side runs: newest first; compare.sh inserts here -->";

  /** What the run was, for its heading and the facts above its tables. */
  record Run(
      String title,
      String machine,
      String command,
      Map<String, String> versions,
      Map<String, Map<Durability, String>> durability,
      List<String> charts) {}

  private Report() {}

  /**
   * The Switchboard row a peer's result is compared with: its MQTT front end for MQTT workloads,
   * its Kafka front end for Kafka's when that ran the same workload (the same tools on both), else
   * the native protocol.
   */
  static String counterpart(List<Result> rs, Result peer) {
    boolean mqtt = peer.broker().equals("Mosquitto") || peer.workload() == Workload.MQTT_QOS1;
    if (mqtt) {
      return SwitchboardPeer.MQTT_NAME;
    }
    if (peer.broker().equals("Kafka")
        && find(rs, SwitchboardKafkaPeer.NAME, peer.workload(), peer.durability()).isPresent()) {
      return SwitchboardKafkaPeer.NAME;
    }
    return SwitchboardPeer.NAME;
  }

  static boolean isSwitchboard(Result r) {
    return r.broker().startsWith(SwitchboardPeer.NAME);
  }

  static Optional<Result> find(List<Result> rs, String broker, Workload w, Durability d) {
    return rs.stream()
        .filter(
            r -> r.broker().equals(broker) && r.workload() == w && r.durability() == d && r.ok())
        .findFirst();
  }

  /**
   * Switchboard's ratio to a peer's result: throughput (higher is better) for publish and receive
   * workloads, latency (peer ÷ Switchboard, so higher is better too) for latency workloads.
   */
  static Optional<Double> ratio(List<Result> rs, Result peer) {
    if (isSwitchboard(peer) || !peer.ok()) {
      return Optional.empty();
    }
    return find(rs, counterpart(rs, peer), peer.workload(), peer.durability())
        .map(
            sb ->
                peer.workload().headline == Workload.Headline.LATENCY
                    ? peer.p50Us() / sb.p50Us()
                    : sb.msgPerSec() / peer.msgPerSec());
  }

  static String markdown(Run run, List<Result> results) {
    StringBuilder b = new StringBuilder();
    b.append("### ").append(run.title()).append("\n\n");
    b.append("Machine: ").append(run.machine()).append("  \n");
    b.append("Command: `").append(run.command()).append("`  \n");
    b.append("Versions: ");
    List<String> vs = new ArrayList<>();
    run.versions().forEach((k, v) -> vs.add(k + " " + v));
    b.append(String.join("; ", vs)).append("\n\n");
    b.append("| Broker | Default durability | Fsync before ack |\n|---|---|---|\n");
    run.durability()
        .forEach(
            (broker, m) ->
                b.append("| ")
                    .append(broker)
                    .append(" | ")
                    .append(m.getOrDefault(Durability.DEFAULT, "—"))
                    .append(" | ")
                    .append(m.getOrDefault(Durability.FSYNC, "—"))
                    .append(" |\n"));
    b.append('\n');
    for (Durability d : Durability.values()) {
      List<Result> these = results.stream().filter(r -> r.durability() == d).toList();
      if (these.isEmpty()) {
        continue;
      }
      b.append("#### ")
          .append(d == Durability.DEFAULT ? "Default durability" : "Fsync before ack")
          .append("\n\n");
      b.append(
          "| # | Workload | Broker | Client | msg/s | MB/s | p50 | p99 | p99.9 | Switchboard's ratio | Note |\n");
      b.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
      for (Workload w : Workload.values()) {
        for (Result r : these) {
          if (r.workload() != w) {
            continue;
          }
          b.append("| ")
              .append(w.id)
              .append(" | ")
              .append(w.title)
              .append(" | ")
              .append(isSwitchboard(r) ? "**" + r.broker() + "**" : r.broker())
              .append(" | ")
              .append(r.client())
              .append(" | ")
              .append(r.ok() ? String.format(Locale.ROOT, "%,.0f", r.msgPerSec()) : "failed")
              .append(" | ")
              .append(r.ok() ? String.format(Locale.ROOT, "%,.1f", r.mbPerSec()) : "")
              .append(" | ")
              .append(latency(r.p50Us()))
              .append(" | ")
              .append(latency(r.p99Us()))
              .append(" | ")
              .append(latency(r.p999Us()))
              .append(" | ")
              .append(ratio(results, r).map(x -> String.format(Locale.ROOT, "%.2f×", x)).orElse(""))
              .append(" | ")
              .append(r.note().replace("|", "\\|").replace("\n", " "))
              .append(" |\n");
        }
      }
      b.append('\n');
    }
    b.append(
        "Ratios: Switchboard's msg/s ÷ the peer's for throughput workloads (1–2, 4–6); the peer's"
            + " p50 ÷ Switchboard's for latency workloads (3, 7). Above 1 Switchboard is ahead."
            + " Latency is publish → acknowledgement for 1, 2 and 6, end to end otherwise.\n\n");
    b.append("#### Goals (issues #7 and #13)\n\n| Goal | Measured | Met |\n|---|---|---|\n");
    for (Goal g : goals(results)) {
      b.append("| ")
          .append(g.goal())
          .append(" | ")
          .append(g.measured())
          .append(" | ")
          .append(g.met() == null ? "not measured" : g.met() ? "yes" : "**no**")
          .append(" |\n");
    }
    b.append('\n');
    for (String chart : run.charts()) {
      b.append("![").append(chart).append("](").append(chart).append(")\n");
    }
    return b.toString();
  }

  static String latency(double us) {
    if (Double.isNaN(us)) {
      return "";
    }
    return us >= 1000
        ? String.format(Locale.ROOT, "%,.1f ms", us / 1000)
        : String.format(Locale.ROOT, "%,.0f µs", us);
  }

  /** One goal of issue #7 and whether this run met it (null: a figure is missing). */
  record Goal(String goal, String measured, Boolean met) {}

  static List<Goal> goals(List<Result> rs) {
    List<Goal> out = new ArrayList<>();
    out.add(
        throughputGoal(
            rs, "Persisted publish 100 B ≥ 1.5× Kafka", Workload.PUBLISH_100B, "Kafka", 1.5));
    out.add(
        throughputGoal(
            rs, "Work queue, per-message ack ≥ 5× RabbitMQ", Workload.WORK_QUEUE, "RabbitMQ", 5));
    out.add(
        throughputGoal(
            rs,
            "Kafka protocol (issue 14): producer 100 B ≥ 1.5× Kafka",
            Workload.PUBLISH_100B,
            "Kafka",
            1.5,
            SwitchboardKafkaPeer.NAME));
    out.add(
        throughputGoal(
            rs,
            "Kafka protocol (issue 14): producer 1 KiB ≥ 1.5× Kafka",
            Workload.PUBLISH_1KIB,
            "Kafka",
            1.5,
            SwitchboardKafkaPeer.NAME));
    out.add(
        throughputGoal(
            rs,
            "Kafka protocol (issue 14): consumer ≥ Kafka",
            Workload.CONSUME_1KIB,
            "Kafka",
            1,
            SwitchboardKafkaPeer.NAME));
    for (Workload w : List.of(Workload.FANOUT_1, Workload.FANOUT_10)) {
      Optional<Result> sb = find(rs, SwitchboardPeer.NAME, w, Durability.DEFAULT);
      Optional<Result> nats = find(rs, "NATS", w, Durability.DEFAULT);
      String name = "Live fan-out to " + w.subscribers() + " ≥ NATS core msg/s, p99 ≤ NATS";
      if (sb.isEmpty() || nats.isEmpty()) {
        out.add(new Goal(name, "—", null));
      } else {
        double x = sb.get().msgPerSec() / nats.get().msgPerSec();
        boolean p99 = sb.get().p99Us() <= nats.get().p99Us();
        out.add(
            new Goal(
                name,
                String.format(
                    Locale.ROOT,
                    "%.2f× msg/s; p99 %s vs %s",
                    x,
                    latency(sb.get().p99Us()),
                    latency(nats.get().p99Us())),
                x >= 1 && p99));
      }
    }
    out.add(
        throughputGoal(
            rs,
            "MQTT QoS 1 ≥ 2× Mosquitto",
            Workload.MQTT_QOS1,
            "Mosquitto",
            2,
            SwitchboardPeer.MQTT_NAME));
    Optional<Result> sb =
        find(rs, SwitchboardPeer.NAME, Workload.REQUEST_REPLY, Durability.DEFAULT);
    Optional<Result> nats = find(rs, "NATS", Workload.REQUEST_REPLY, Durability.DEFAULT);
    out.add(
        sb.isEmpty() || nats.isEmpty()
            ? new Goal("Request/reply p50 ≤ NATS", "—", null)
            : new Goal(
                "Request/reply p50 ≤ NATS",
                latency(sb.get().p50Us()) + " vs " + latency(nats.get().p50Us()),
                sb.get().p50Us() <= nats.get().p50Us()));
    Optional<Result> sb5k =
        find(rs, SwitchboardPeer.NAME, Workload.LATENCY_1KIB_5K, Durability.DEFAULT);
    Optional<Result> nats5k = find(rs, "NATS", Workload.LATENCY_1KIB_5K, Durability.DEFAULT);
    String stored = "End-to-end p50, 1 KiB at 5,000 msg/s, per-message ack ≤ NATS JetStream";
    out.add(
        sb5k.isEmpty() || nats5k.isEmpty()
            ? new Goal(stored, "—", null)
            : new Goal(
                stored,
                latency(sb5k.get().p50Us()) + " vs " + latency(nats5k.get().p50Us()),
                sb5k.get().p50Us() <= nats5k.get().p50Us()));
    for (Workload w : Workload.values()) {
      if (!w.durabilitySensitive) {
        continue;
      }
      Optional<Result> mine = find(rs, SwitchboardPeer.NAME, w, Durability.FSYNC);
      List<Result> peers =
          rs.stream()
              .filter(
                  r ->
                      !isSwitchboard(r)
                          && r.workload() == w
                          && r.durability() == Durability.FSYNC
                          && r.ok())
              .toList();
      String name = "Fsync before ack, workload " + w.id + ": ≥ every peer";
      if (mine.isEmpty() || peers.isEmpty()) {
        out.add(new Goal(name, "—", null));
        continue;
      }
      List<String> parts = new ArrayList<>();
      boolean met = true;
      for (Result p : peers) {
        double x = ratio(rs, p).orElse(Double.NaN);
        met &= x >= 1;
        parts.add(String.format(Locale.ROOT, "%.2f× %s", x, p.broker()));
      }
      out.add(new Goal(name, String.join(", ", parts), met));
    }
    return out;
  }

  private static Goal throughputGoal(
      List<Result> rs, String name, Workload w, String peer, double factor) {
    return throughputGoal(rs, name, w, peer, factor, SwitchboardPeer.NAME);
  }

  private static Goal throughputGoal(
      List<Result> rs, String name, Workload w, String peer, double factor, String sbName) {
    Optional<Result> sb = find(rs, sbName, w, Durability.DEFAULT);
    Optional<Result> p = find(rs, peer, w, Durability.DEFAULT);
    if (sb.isEmpty() || p.isEmpty()) {
      return new Goal(name, "—", null);
    }
    double x = sb.get().msgPerSec() / p.get().msgPerSec();
    return new Goal(
        name,
        String.format(
            Locale.ROOT,
            "%.2f× (%,.0f vs %,.0f msg/s)",
            x,
            sb.get().msgPerSec(),
            p.get().msgPerSec()),
        x >= factor);
  }

  /**
   * {@code doc} with {@code section} inserted right after {@link #MARKER}, so earlier runs stay
   * below it; the marker and a heading are appended when the document has none yet.
   */
  static String insert(String doc, String section) {
    int at = doc.indexOf(MARKER);
    if (at < 0) {
      String base = doc.endsWith("\n") ? doc : doc + "\n";
      return base + "\n## Side by side (bench/compare.sh)\n\n" + MARKER + "\n\n" + section;
    }
    int after = at + MARKER.length();
    return doc.substring(0, after) + "\n\n" + section.stripTrailing() + "\n" + doc.substring(after);
  }

  /** Brokers in table order, each with what each durability means for it. */
  static Map<String, Map<Durability, String>> durabilities(List<Peer> peers) {
    Map<String, Map<Durability, String>> m = new LinkedHashMap<>();
    for (Peer p : peers) {
      Map<Durability, String> row = new LinkedHashMap<>();
      for (Durability d : Durability.values()) {
        row.put(d, p.durability(d));
      }
      m.put(p.name(), row);
    }
    return m;
  }
}
