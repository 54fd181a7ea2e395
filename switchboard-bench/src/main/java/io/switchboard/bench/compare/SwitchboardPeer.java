package io.switchboard.bench.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.client.SwitchboardClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Switchboard, started with its launcher; driven by {@code switchboard bench} on the native
 * protocol, by the same MQTT driver as Mosquitto on its MQTT front end, and by the suite's
 * request/reply driver on the Java client.
 */
final class SwitchboardPeer implements Peer {
  static final String NAME = "Switchboard";
  static final String MQTT_NAME = "Switchboard (MQTT)";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path root;

  SwitchboardPeer(Path root) {
    this.root = root;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String version() {
    String commit = Procs.firstLine("git", "-C", root.toString(), "rev-parse", "--short", "HEAD");
    return "0.1.0-SNAPSHOT (" + commit + ")";
  }

  @Override
  public String durability(Durability d) {
    return d == Durability.DEFAULT
        ? "stream fsync policy `interval` (written before the ack, fsynced within 1 s)"
        : "stream fsync policy `always` (`--fsync always`: fsynced before the ack, group commit)";
  }

  @Override
  public boolean supports(Durability d) {
    return true;
  }

  @Override
  public List<Workload> workloads() {
    // Workload 8 is Kafka's consumer tool: the Kafka-protocol peer runs it.
    return java.util.Arrays.stream(Workload.values())
        .filter(w -> w != Workload.CONSUME_1KIB)
        .toList();
  }

  private String launcher() {
    return root.resolve("switchboard").toString();
  }

  @Override
  public Running start(Path dir, Durability d) throws Exception {
    int nativePort = Running.freePort();
    int http = Running.freePort();
    int mqtt = Running.freePort();
    Path log = dir.resolve("switchboard.log");
    Process p =
        Procs.start(
            List.of(
                launcher(),
                "server",
                "--data",
                dir.resolve("data").toString(),
                "--port",
                "" + nativePort,
                "--set",
                "http.port=" + http,
                "--set",
                "mqtt.port=" + mqtt),
            Map.of(),
            log);
    return new Running(List.of(p), Map.of("native", nativePort, "mqtt", mqtt, "http", http), log)
        .awaitListening(Duration.ofSeconds(60));
  }

  @Override
  public List<Result> run(Running r, Workload w, Durability d, Settings s) throws Exception {
    List<Result> out = new ArrayList<>();
    switch (w) {
      case PUBLISH_100B, PUBLISH_1KIB -> out.add(bench(r, w, d, s, "pub", "--stream", "BENCH"));
      case LATENCY_1KIB, LATENCY_1KIB_5K ->
          out.add(bench(r, w, d, s, "queue", "--consumers", "1", "--rate", "" + w.rate));
      case WORK_QUEUE -> out.add(bench(r, w, d, s, "queue", "--consumers", "2"));
      case FANOUT_1, FANOUT_10 -> {
        // Acknowledged publishes: the acks pace the publisher. Without them (--no-ack, as core
        // NATS publishes) it outran ten subscribers and they received less (docs/benchmarks.md).
        out.add(bench(r, w, d, s, "pubsub", "--subscribers", "" + w.subscribers()));
        out.add(MqttDriver.fanOut(MQTT_NAME, r.port("mqtt"), w, d, s));
      }
      case MQTT_QOS1 -> out.add(MqttDriver.qos1(MQTT_NAME, r.port("mqtt"), w, d, s));
      case REQUEST_REPLY -> out.add(requestReply(r, w, d, s));
      case CONSUME_1KIB -> throw new IllegalArgumentException("workload 8 is Kafka-protocol only");
    }
    return out;
  }

  /** Builds the {@code switchboard bench} command line of a run. */
  static List<String> benchCommand(
      String launcher,
      int port,
      Workload w,
      Durability d,
      Settings s,
      String mode,
      String... extra) {
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(
            launcher,
            "bench",
            "--server",
            "127.0.0.1:" + port,
            "--json",
            "--mode",
            mode,
            "--size",
            "" + w.sizeBytes,
            "--warmup",
            s.warmup().toSeconds() + "s",
            "--duration",
            s.measure().toSeconds() + "s",
            "--max-in-flight",
            "" + Settings.WINDOW));
    cmd.addAll(List.of(extra));
    if (!mode.equals("pubsub") && d == Durability.FSYNC) {
      cmd.addAll(List.of("--fsync", "always"));
    }
    return cmd;
  }

  private Result bench(
      Running r, Workload w, Durability d, Settings s, String mode, String... extra)
      throws Exception {
    List<String> cmd = benchCommand(launcher(), r.port("native"), w, d, s, mode, extra);
    String out =
        Procs.run(
            cmd,
            Map.of(),
            r.log.resolveSibling("bench-" + w.id + "-" + d + ".log"),
            s.warmup().plus(s.measure()).plus(Duration.ofMinutes(2)));
    return parseBench(out, w, d);
  }

  /** Reads the JSON report line of {@code switchboard bench --json}. */
  static Result parseBench(String output, Workload w, Durability d) throws Exception {
    String line =
        output
            .lines()
            .filter(l -> l.startsWith("{") && l.contains("\"msgPerSec\""))
            .reduce((a, b) -> b)
            .orElseThrow(() -> new IllegalStateException("no JSON report in: " + output));
    JsonNode n = JSON.readTree(line);
    JsonNode lat = n.path("latency");
    StringBuilder note = new StringBuilder();
    if (n.path("missing").asLong(0) > 0) {
      Load.append(
          note,
          String.format(java.util.Locale.ROOT, "%,d not received", n.path("missing").asLong()));
    }
    if (n.path("dropped").asLong(0) > 0) {
      Load.append(
          note, String.format(java.util.Locale.ROOT, "%,d dropped", n.path("dropped").asLong()));
    }
    long messages = n.has("received") ? n.path("received").asLong() : n.path("acked").asLong();
    return new Result(
        NAME,
        "switchboard bench",
        w,
        d,
        n.path("msgPerSec").asDouble(),
        n.path("mbPerSec").asDouble(),
        lat.path("p50Us").asDouble(Double.NaN),
        lat.path("p99Us").asDouble(Double.NaN),
        lat.path("p999Us").asDouble(Double.NaN),
        messages,
        note.toString());
  }

  private Result requestReply(Running r, Workload w, Durability d, Settings s) throws Exception {
    String address = "127.0.0.1:" + r.port("native");
    try (SwitchboardClient responder = SwitchboardClient.connect(address);
        SwitchboardClient requester = SwitchboardClient.connect(address)) {
      var sub = responder.subscribe("bench.rpc", m -> responder.reply(m, m.payload()));
      Load load = s.load(w);
      load.roundTrips(
          payload -> {
            byte[] back =
                requester
                    .request("bench.rpc", payload, Duration.ofSeconds(5))
                    .get(10, TimeUnit.SECONDS)
                    .payload();
            load.received(back);
          });
      sub.close();
      return load.result(NAME, "suite driver on switchboard-client", d, 1, "");
    }
  }
}
