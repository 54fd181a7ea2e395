package io.switchboard.bench;

import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.live.QueueRouting;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.HdrHistogram.Histogram;

/**
 * Queue-group routing under a slow member, in simulated time: the broker's real {@link LiveBus}
 * (its routing, in-flight tracking and reply matching) on a virtual clock, with four simulated
 * responders — three serving in {@code fastMs}, one in 10× that, each one request at a time in
 * arrival order — and Poisson arrivals. What a busy machine does to threads does not enter the
 * figures: they measure the routing policy alone, and the same seed gives the same figures.
 *
 * <pre>
 * java -cp switchboard-bench/target/switchboard-bench.jar io.switchboard.bench.QueueRoutingSimulation \
 *     [fastMs=1] [requests=200000] [rates=100,200,300,360] [seed=1]
 * </pre>
 */
public final class QueueRoutingSimulation {
  private QueueRoutingSimulation() {}

  /** Virtual time, advanced by the event loop. */
  static final class SimClock implements Clock {
    long nanos = 1_700_000_000_000_000_000L;

    @Override
    public long nowMs() {
      return nanos / 1_000_000;
    }

    @Override
    public long nanoTime() {
      return nanos;
    }
  }

  record Event(long atNanos, int responder, long seq) {} // responder -1 = an arrival

  /** A simulated single-threaded responder. */
  static final class Responder {
    final long serviceNanos;
    final ArrayDeque<Message> queue = new ArrayDeque<>();
    boolean busy;
    long served;

    Responder(long serviceNanos) {
      this.serviceNanos = serviceNanos;
    }
  }

  public static void main(String[] args) {
    long fastMs = args.length > 0 ? Long.parseLong(args[0]) : 1;
    int requests = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
    String rates = args.length > 2 ? args[2] : "100,200,300,360";
    long seed = args.length > 3 ? Long.parseLong(args[3]) : 1;
    System.out.printf(
        "simulated: 4 responders, 3 x %d ms + 1 x %d ms, Poisson arrivals, %d requests per run,"
            + " seed %d%n",
        fastMs, 10 * fastMs, requests, seed);
    System.out.println(
        "| rate (req/s) | routing | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | share at slow"
            + " member |");
    System.out.println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (String r : rates.split(",")) {
      int rate = Integer.parseInt(r.trim());
      Histogram rr = run(QueueRouting.ROUND_ROBIN, rate, fastMs, requests, seed);
      Histogram lif = run(QueueRouting.LEAST_IN_FLIGHT, rate, fastMs, requests, seed);
      Histogram ad = run(QueueRouting.ADAPTIVE, rate, fastMs, requests, seed);
      System.out.printf(
          Locale.ROOT,
          "|  | p99 round-robin / least-in-flight, / adaptive | | | %.1f×, %.1f× | | | |%n",
          (double) rr.getValueAtPercentile(99) / lif.getValueAtPercentile(99),
          (double) rr.getValueAtPercentile(99) / ad.getValueAtPercentile(99));
    }
  }

  static Histogram run(QueueRouting routing, int rate, long fastMs, int requests, long seed) {
    SimClock clock = new SimClock();
    SplittableRandom random = new SplittableRandom(seed);
    Histogram latency = new Histogram(3);
    Responder[] rs = new Responder[4];
    PriorityQueue<Event> events =
        new PriorityQueue<>(
            (a, b) ->
                a.atNanos() != b.atNanos()
                    ? Long.compare(a.atNanos(), b.atNanos())
                    : Long.compare(a.seq(), b.seq()));
    long[] seq = {0};
    try (LiveBus bus = new LiveBus(LiveBusConfig.DEFAULTS.withQueueRouting(routing), clock)) {
      for (int i = 0; i < 4; i++) {
        Responder resp = new Responder((i == 0 ? 10 : 1) * fastMs * 1_000_000L);
        rs[i] = resp;
        int index = i;
        bus.subscribe(
            "svc.quote",
            "workers",
            m -> {
              resp.queue.add(m);
              if (!resp.busy) {
                resp.busy = true;
                events.add(new Event(clock.nanos + resp.serviceNanos, index, seq[0]++));
              }
            },
            Runnable::run);
      }
      double meanGapNanos = 1e9 / rate;
      long t = clock.nanos;
      for (int i = 0; i < requests; i++) {
        t += (long) (-Math.log(1 - random.nextDouble()) * meanGapNanos);
        events.add(new Event(t, -1, seq[0]++));
      }
      while (!events.isEmpty()) {
        Event e = events.poll();
        clock.nanos = e.atNanos();
        if (e.responder() < 0) {
          long sent = clock.nanos;
          CompletableFuture<Message> reply =
              bus.request(Message.of("svc.quote", new byte[0], 0), Duration.ofDays(1));
          reply.thenRun(() -> latency.recordValue(clock.nanos - sent));
        } else {
          Responder resp = rs[e.responder()];
          Message m = resp.queue.poll();
          resp.served++;
          bus.reply(m, new byte[0]);
          if (resp.queue.isEmpty()) {
            resp.busy = false;
          } else {
            events.add(new Event(clock.nanos + resp.serviceNanos, e.responder(), seq[0]++));
          }
        }
      }
    }
    long total = 0;
    for (Responder resp : rs) {
      total += resp.served;
    }
    System.out.printf(
        Locale.ROOT,
        "| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f %% |%n",
        rate,
        routing.name().toLowerCase(Locale.ROOT).replace('_', '-'),
        latency.getValueAtPercentile(50) / 1e6,
        latency.getValueAtPercentile(90) / 1e6,
        latency.getValueAtPercentile(99) / 1e6,
        latency.getValueAtPercentile(99.9) / 1e6,
        latency.getMaxValue() / 1e6,
        100.0 * rs[0].served / total);
    return latency;
  }
}
