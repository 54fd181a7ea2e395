package io.switchboard.bench.compare;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Native publish over TLS beside plain TCP, in one run against one server (docs/benchmarks.md,
 * issue 18): the server listens on a plain and a TLS native port; rounds alternate plain and TLS so
 * both see the same machine load. Per round: persisted publishes of 100 B with a window of
 * acknowledgements in flight (throughput, and each publish's time to its ack), then sequential
 * publishes (one in flight: the round-trip latency). Starts Switchboard with its launcher, the TLS
 * provider chosen by {@code tls.provider} (the server log says which one loaded), stops it by PID.
 * Prints a Markdown table.
 *
 * <pre>
 * java -cp … io.switchboard.bench.compare.TlsBench ROOT WORKDIR CERT KEY SECONDS ROUNDS PROVIDER
 * </pre>
 */
public final class TlsBench {
  static final int SIZE = 100;
  static final int WINDOW = 1000;
  static final int SEQUENTIAL = 5_000;

  private TlsBench() {}

  /** One round's figures for one transport. */
  record Round(double msgPerSec, Histogram windowed, Histogram sequential) {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    Path work = Path.of(args[1]);
    String cert = args[2];
    String key = args[3];
    long seconds = Long.parseLong(args[4]);
    int rounds = Integer.parseInt(args[5]);
    String provider = args[6];
    Files.createDirectories(work);
    int plainPort = Running.freePort();
    int tlsPort = Running.freePort();
    Path log = work.resolve("switchboard-" + provider + ".log");
    Process p =
        Procs.start(
            List.of(
                root.resolve("switchboard").toString(),
                "server",
                "--data",
                work.resolve("data-" + provider).toString(),
                "--port",
                "" + plainPort,
                "--set",
                "native.tls-port=" + tlsPort,
                "--set",
                "tls.cert=" + cert,
                "--set",
                "tls.key=" + key,
                "--set",
                "tls.provider=" + provider,
                "--set",
                "http.port=-1",
                "--set",
                "mqtt.port=-1",
                "--set",
                "kafka.port=-1",
                "--set",
                "amqp.port=-1",
                "--set",
                "grpc.port=-1"),
            Map.of(),
            log);
    try (Running r =
            new Running(List.of(p), Map.of("plain", plainPort, "tls", tlsPort), log)
                .awaitListening(Duration.ofSeconds(120));
        SwitchboardClient plain =
            SwitchboardClient.connect(ClientOptions.of("127.0.0.1", r.port("plain")));
        SwitchboardClient tls =
            SwitchboardClient.connect(ClientOptions.of("127.0.0.1", r.port("tls")).withTls(cert))) {
      plain.admin(
          io.switchboard.protocol.frame.Admin.Op.STREAM_CREATE,
          "{\"name\":\"TP\",\"subjects\":[\"tp.>\"]}");
      String serverProvider =
          Files.readAllLines(log).stream()
              .filter(l -> l.contains("TLS on ("))
              .map(
                  l ->
                      l.substring(l.indexOf("TLS on (") + 8, l.indexOf(')', l.indexOf("TLS on ("))))
              .findFirst()
              .orElse("?");
      byte[] payload = new byte[SIZE];
      // Warm both paths (JIT, TLS session, the stream's files) before anything is counted.
      for (int i = 0; i < 2; i++) {
        round(plain, payload, seconds);
        round(tls, payload, seconds);
      }
      List<Round[]> all = new ArrayList<>();
      for (int i = 0; i < rounds; i++) {
        // Which goes first alternates, so neither always follows the other's disk backlog.
        Round a;
        Round b;
        if (i % 2 == 0) {
          a = round(plain, payload, seconds);
          b = round(tls, payload, seconds);
        } else {
          b = round(tls, payload, seconds);
          a = round(plain, payload, seconds);
        }
        all.add(new Round[] {a, b});
        System.err.printf(
            "tls bench (%s): round %d plain %.0f msg/s, TLS %.0f msg/s (%.2f)%n",
            provider, i + 1, a.msgPerSec(), b.msgPerSec(), b.msgPerSec() / a.msgPerSec());
      }
      StringBuilder out = new StringBuilder();
      out.append(
          String.format(
              "Server TLS provider: %s (tls.provider=%s); client: %s.%n%n",
              serverProvider, provider, io.netty.handler.ssl.SslContext.defaultClientProvider()));
      out.append(
          "| round | plain msg/s | TLS msg/s | TLS / plain | ack p50 µs plain / TLS | ack p99 µs"
              + " plain / TLS | sequential p50 µs plain / TLS | sequential p99 µs plain / TLS |\n");
      out.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
      for (int i = 0; i < all.size(); i++) {
        Round a = all.get(i)[0];
        Round b = all.get(i)[1];
        out.append(
            String.format(
                "| %d | %,.0f | %,.0f | %.2f | %d / %d | %d / %d | %d / %d | %d / %d |%n",
                i + 1,
                a.msgPerSec(),
                b.msgPerSec(),
                b.msgPerSec() / a.msgPerSec(),
                a.windowed().getValueAtPercentile(50),
                b.windowed().getValueAtPercentile(50),
                a.windowed().getValueAtPercentile(99),
                b.windowed().getValueAtPercentile(99),
                a.sequential().getValueAtPercentile(50),
                b.sequential().getValueAtPercentile(50),
                a.sequential().getValueAtPercentile(99),
                b.sequential().getValueAtPercentile(99)));
      }
      double[] ratios =
          all.stream().mapToDouble(x -> x[1].msgPerSec() / x[0].msgPerSec()).sorted().toArray();
      double[] plainRates = all.stream().mapToDouble(x -> x[0].msgPerSec()).sorted().toArray();
      double[] tlsRates = all.stream().mapToDouble(x -> x[1].msgPerSec()).sorted().toArray();
      out.append(
          String.format(
              "| median | %,.0f | %,.0f | %.2f | | | | |%n",
              median(plainRates), median(tlsRates), median(ratios)));
      System.out.print(out);
    }
  }

  static double median(double[] sorted) {
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  static Round round(SwitchboardClient c, byte[] payload, long seconds) throws Exception {
    Recorder windowed = new Recorder(3);
    double rate = publish(c, payload, seconds, windowed);
    Histogram sequential = new Histogram(3);
    for (int i = 0; i < SEQUENTIAL; i++) {
      long t0 = System.nanoTime();
      c.publish("tp.s", payload);
      sequential.recordValue((System.nanoTime() - t0) / 1_000);
    }
    return new Round(rate, windowed.getIntervalHistogram(), sequential);
  }

  /** Persisted publishes with {@link #WINDOW} in flight for {@code seconds}: acks per second. */
  static double publish(SwitchboardClient c, byte[] payload, long seconds, Recorder latency)
      throws Exception {
    Semaphore window = new Semaphore(WINDOW);
    AtomicLong acked = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long t0 = System.nanoTime();
    while (System.nanoTime() < end) {
      window.acquire();
      long sent = System.nanoTime();
      c.publishAsync("tp.x", payload)
          .whenComplete(
              (a, e) -> {
                if (e == null) {
                  acked.incrementAndGet();
                  latency.recordValue((System.nanoTime() - sent) / 1_000);
                }
                window.release();
              });
    }
    window.acquire(WINDOW);
    return acked.get() / ((System.nanoTime() - t0) / 1e9);
  }
}
