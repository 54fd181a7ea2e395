package io.switchboard.bench.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The side-by-side suite (issue #7; run it with {@code bench/compare.sh}): each broker in turn —
 * never two at once — started on 127.0.0.1 with its data in a fresh directory, every workload it
 * takes part in run against it, then stopped by PID and its data deleted. Once per durability
 * setting. Writes the results as JSON, the Markdown section into docs/benchmarks.md (newest run
 * first) and the charts next to it.
 *
 * <pre>
 * Compare --root DIR --kafka-libs DIR --work DIR [--warmup S] [--seconds S]
 *         [--brokers switchboard,kafka,rabbitmq,nats,mosquitto] [--workloads 1,2,3,4,5a,5b,6,7]
 *         [--doc docs/benchmarks.md] [--command TEXT] [--mqtt-client paho|netty]
 * </pre>
 */
public final class Compare {
  private Compare() {}

  /** Parsed command line, with the defaults of a full run. */
  record Options(
      Path root,
      Path kafkaLibs,
      Path work,
      Duration warmup,
      Duration measure,
      List<String> brokers,
      Set<String> workloads,
      Path doc,
      String command,
      String mqttClient) {

    static Options parse(String... args) {
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (!args[i].startsWith("--") || i + 1 >= args.length) {
          throw new IllegalArgumentException("expected --name value pairs, got: " + args[i]);
        }
        m.put(args[i].substring(2), args[++i]);
      }
      Set<String> known =
          Set.of(
              "root",
              "kafka-libs",
              "work",
              "warmup",
              "seconds",
              "brokers",
              "workloads",
              "doc",
              "command",
              "mqtt-client");
      for (String k : m.keySet()) {
        if (!known.contains(k)) {
          throw new IllegalArgumentException("unknown option --" + k + "; known: " + known);
        }
      }
      for (String k : List.of("root", "kafka-libs", "work")) {
        if (!m.containsKey(k)) {
          throw new IllegalArgumentException("--" + k + " is required");
        }
      }
      Path root = Path.of(m.get("root"));
      List<String> brokers =
          Arrays.asList(
              m.getOrDefault(
                      "brokers", "switchboard,switchboard-kafka,kafka,rabbitmq,nats,mosquitto")
                  .split(","));
      for (String b : brokers) {
        if (!Set.of("switchboard", "switchboard-kafka", "kafka", "rabbitmq", "nats", "mosquitto")
            .contains(b)) {
          throw new IllegalArgumentException("unknown broker " + b);
        }
      }
      Set<String> workloads =
          Arrays.stream(m.getOrDefault("workloads", "").split(","))
              .filter(s -> !s.isBlank())
              .collect(Collectors.toSet());
      Set<String> ids = Arrays.stream(Workload.values()).map(w -> w.id).collect(Collectors.toSet());
      for (String w : workloads) {
        if (!ids.contains(w)) {
          throw new IllegalArgumentException("unknown workload " + w + "; known: " + ids);
        }
      }
      return new Options(
          root,
          Path.of(m.get("kafka-libs")),
          Path.of(m.get("work")),
          Duration.ofSeconds(Long.parseLong(m.getOrDefault("warmup", "5"))),
          Duration.ofSeconds(Long.parseLong(m.getOrDefault("seconds", "30"))),
          brokers,
          workloads,
          Path.of(m.getOrDefault("doc", root.resolve("docs/benchmarks.md").toString())),
          m.getOrDefault("command", "bench/compare.sh"),
          mqttClient(m.getOrDefault("mqtt-client", "paho")));
    }

    private static String mqttClient(String c) {
      if (!Set.of("paho", "netty").contains(c)) {
        throw new IllegalArgumentException("--mqtt-client is paho or netty, not " + c);
      }
      return c;
    }

    boolean wants(Workload w) {
      return workloads.isEmpty() || workloads.contains(w.id);
    }
  }

  static Peer peer(String name, Options o) {
    return switch (name) {
      case "switchboard" -> new SwitchboardPeer(o.root());
      case "switchboard-kafka" -> new SwitchboardKafkaPeer(o.root(), o.kafkaLibs());
      case "kafka" -> new KafkaPeer(o.kafkaLibs());
      case "rabbitmq" -> new RabbitPeer();
      case "nats" -> new NatsPeer();
      case "mosquitto" -> new MosquittoPeer();
      default -> throw new IllegalArgumentException(name);
    };
  }

  /**
   * The workloads {@code p} runs with durability {@code d}: only durability-sensitive ones twice.
   */
  static List<Workload> plan(Peer p, Durability d, Options o) {
    return p.workloads().stream()
        .filter(o::wants)
        .filter(w -> d == Durability.DEFAULT || w.durabilitySensitive)
        .toList();
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    Settings s =
        new Settings(o.root(), o.kafkaLibs(), o.work(), o.warmup(), o.measure(), o.mqttClient());
    List<Peer> peers = o.brokers().stream().map(b -> peer(b, o)).toList();
    List<Result> results = new ArrayList<>();
    Map<String, String> versions = new LinkedHashMap<>();
    for (Peer p : peers) {
      versions.put(p.name(), p.version());
      for (Durability d : Durability.values()) {
        List<Workload> todo = plan(p, d, o);
        if (todo.isEmpty() || !p.supports(d)) {
          continue;
        }
        if (d == Durability.FSYNC && p.durability(d).equals(p.durability(Durability.DEFAULT))) {
          for (Result r : List.copyOf(results)) {
            if (r.broker().equals(p.name())
                && r.durability() == Durability.DEFAULT
                && todo.contains(r.workload())) {
              results.add(
                  new Result(
                      r.broker(),
                      r.client(),
                      r.workload(),
                      d,
                      r.msgPerSec(),
                      r.mbPerSec(),
                      r.p50Us(),
                      r.p99Us(),
                      r.p999Us(),
                      r.messages(),
                      "the default run's figures: the setting is the same"));
            }
          }
          continue;
        }
        results.addAll(runPeer(p, d, todo, s));
      }
    }
    String stamp =
        DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmm").format(ZonedDateTime.now(ZoneOffset.UTC));
    Path outDir = o.doc().toAbsolutePath().getParent().resolve("bench-results");
    Files.createDirectories(outDir);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    json.writeValue(outDir.resolve("compare-" + stamp + ".json").toFile(), results);
    Path imgDir = o.doc().toAbsolutePath().getParent().resolve("img");
    List<String> charts =
        Chart.writeAll(imgDir, "compare-" + stamp, results).stream().map(n -> "img/" + n).toList();
    Report.Run run =
        new Report.Run(
            "Run of "
                + stamp.substring(0, 10)
                + " "
                + stamp.substring(11, 13)
                + ":"
                + stamp.substring(13)
                + " UTC",
            machine(),
            o.command(),
            versions,
            Report.durabilities(peers),
            charts);
    String section = Report.markdown(run, results);
    String doc = Files.exists(o.doc()) ? Files.readString(o.doc(), StandardCharsets.UTF_8) : "";
    Files.writeString(o.doc(), Report.insert(doc, section), StandardCharsets.UTF_8);
    System.out.println(section);
  }

  private static List<Result> runPeer(Peer p, Durability d, List<Workload> todo, Settings s)
      throws IOException {
    List<Result> out = new ArrayList<>();
    Path dir =
        s.work()
            .resolve(p.name().toLowerCase(Locale.ROOT) + "-" + d.name().toLowerCase(Locale.ROOT));
    deleteTree(dir);
    Files.createDirectories(dir);
    log("%s (%s): starting", p.name(), d);
    try (Running r = p.start(dir, d)) {
      log("%s: pid %d, ports %s", p.name(), r.main().pid(), r.ports);
      for (Workload w : todo) {
        log("%s %s workload %s: %s", p.name(), d, w.id, w.title);
        try {
          for (Result res : p.run(r, w, d, s)) {
            log(
                "  %s: %,.0f msg/s, p50 %s, p99 %s %s",
                res.broker(),
                res.msgPerSec(),
                Report.latency(res.p50Us()),
                Report.latency(res.p99Us()),
                res.note());
            out.add(res);
          }
        } catch (Exception e) {
          log("  failed: %s", e);
          out.add(Result.failed(p.name(), "", w, d, "failed: " + e.getMessage()));
        }
      }
      log("%s (%s): stopping pid %d", p.name(), d, r.main().pid());
    } catch (Exception e) {
      log("%s (%s) did not start: %s", p.name(), d, e);
      for (Workload w : todo) {
        out.add(Result.failed(p.name(), "", w, d, "did not start: " + e.getMessage()));
      }
    }
    deleteTree(dir.resolve("data"));
    deleteTree(dir.resolve("kafka-logs"));
    deleteTree(dir.resolve("js"));
    deleteTree(dir.resolve("mnesia"));
    return out;
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path f : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }

  static String machine() {
    Runtime rt = Runtime.getRuntime();
    String cpu = "unknown CPU";
    long memKb = 0;
    try {
      cpu =
          Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
              .filter(l -> l.startsWith("model name"))
              .map(l -> l.substring(l.indexOf(':') + 1).strip())
              .findFirst()
              .orElse(cpu);
      memKb =
          Files.readAllLines(Path.of("/proc/meminfo")).stream()
              .filter(l -> l.startsWith("MemTotal:"))
              .map(l -> Long.parseLong(l.replaceAll("\\D", "")))
              .findFirst()
              .orElse(0L);
    } catch (IOException | RuntimeException e) {
      // not Linux: leave what is unknown
    }
    return String.format(
        Locale.ROOT,
        "%d cores (%s), %.0f GiB, %s %s, JDK %s; brokers and load"
            + " generators share the machine",
        rt.availableProcessors(),
        cpu,
        memKb / 1048576.0,
        System.getProperty("os.name"),
        System.getProperty("os.version"),
        Runtime.version());
  }

  private static void log(String format, Object... args) {
    System.err.printf(
        Locale.ROOT, "[compare %tT] " + format + "%n", prepend(java.time.LocalTime.now(), args));
  }

  private static Object[] prepend(Object first, Object[] rest) {
    Object[] all = new Object[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }
}
