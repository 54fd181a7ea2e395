package io.switchboard.bench;

import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.live.QueueRouting;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Queue-group routing under a slow member (issue 17): four responders in one queue group, three
 * answering in {@code fastMs} and one in 10× that, each serving one request at a time (its own
 * thread, like a single-threaded service). An open-loop requester sends at a fixed rate through the
 * broker's live bus ({@link LiveBus#request}); latency is measured from each request's intended
 * send time (no coordinated omission). Each rate runs a round-robin bus and an adaptive one side by
 * side in the same JVM, in alternating rounds, so that a busy machine's stalls fall on both.
 *
 * <pre>
 * java -cp switchboard-bench/target/switchboard-bench.jar io.switchboard.bench.QueueRoutingBench \
 *     [fastMs=5] [secondsPerRound=5] [rates=40,60,72] [rounds=6]
 * </pre>
 */
public final class QueueRoutingBench {
  private QueueRoutingBench() {}

  record Result(
      QueueRouting routing,
      int rate,
      Histogram latency,
      long[] served,
      long failed,
      double sentRate) {}

  public static void main(String[] args) throws Exception {
    long fastMs = args.length > 0 ? Long.parseLong(args[0]) : 5;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    String rates = args.length > 2 ? args[2] : "40,60,72";
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 6;
    System.out.printf(
        "4 responders, 3 x %d ms + 1 x %d ms, open loop, %d rounds of %d s per routing,"
            + " alternating (after 2 s of warm-up each)%n",
        fastMs, 10 * fastMs, rounds, seconds);
    System.out.println(
        "| rate (req/s) | routing | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | share at slow"
            + " member | failed |");
    System.out.println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (String r : rates.split(",")) {
      int rate = Integer.parseInt(r.trim());
      Result[] both = runPair(rate, fastMs, seconds, rounds);
      Result rr = both[0];
      Result ad = both[1];
      print(rr);
      print(ad);
      System.out.printf(
          Locale.ROOT,
          "|  | p99 round-robin / adaptive | | | %.1f× | | | | |%n",
          (double) rr.latency().getValueAtPercentile(99) / ad.latency().getValueAtPercentile(99));
    }
  }

  static void print(Result r) {
    Histogram h = r.latency();
    long total = 0;
    for (long s : r.served()) {
      total += s;
    }
    System.out.printf(
        Locale.ROOT,
        "| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f %% | %d |%n",
        r.rate(),
        r.routing().name().toLowerCase(Locale.ROOT).replace('_', '-'),
        ms(h.getValueAtPercentile(50)),
        ms(h.getValueAtPercentile(90)),
        ms(h.getValueAtPercentile(99)),
        ms(h.getValueAtPercentile(99.9)),
        ms(h.getMaxValue()),
        total == 0 ? 0.0 : 100.0 * r.served()[0] / total,
        r.failed());
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }

  /** Both buses of one rate, alternating rounds so that both see the same machine. */
  static Result[] runPair(int rate, long fastMs, int seconds, int rounds) throws Exception {
    Group rr = new Group(QueueRouting.ROUND_ROBIN, fastMs);
    Group ad = new Group(QueueRouting.ADAPTIVE, fastMs);
    try {
      rr.round(rate, 2, false); // warm-up, not recorded
      ad.round(rate, 2, false);
      for (int i = 0; i < rounds; i++) {
        Group first = i % 2 == 0 ? rr : ad;
        Group second = first == rr ? ad : rr;
        first.round(rate, seconds, true);
        second.round(rate, seconds, true);
      }
      return new Result[] {rr.result(rate), ad.result(rate)};
    } finally {
      rr.close();
      ad.close();
    }
  }

  /** One bus with four responders in a queue group, and what its rounds measured. */
  static final class Group implements AutoCloseable {
    final QueueRouting routing;
    final LiveBus bus;
    final List<ExecutorService> threads = new ArrayList<>();
    final AtomicLong[] counts = new AtomicLong[4];
    final long[] served = new long[4];
    final Histogram latency = new Histogram(3);
    long failed;

    Group(QueueRouting routing, long fastMs) {
      this.routing = routing;
      this.bus = new LiveBus(LiveBusConfig.DEFAULTS.withQueueRouting(routing), Clock.SYSTEM);
      for (int i = 0; i < 4; i++) {
        long serviceNanos = TimeUnit.MILLISECONDS.toNanos(i == 0 ? 10 * fastMs : fastMs);
        ExecutorService t = Executors.newSingleThreadExecutor();
        threads.add(t);
        AtomicLong count = new AtomicLong();
        counts[i] = count;
        LiveSink sink =
            m -> {
              long until = System.nanoTime() + serviceNanos;
              while (System.nanoTime() < until) {
                LockSupport.parkNanos(until - System.nanoTime());
              }
              count.incrementAndGet();
              bus.reply(m, new byte[0]);
            };
        bus.subscribe("svc.quote", "workers", sink, t);
      }
    }

    /** Sends at {@code rate} for {@code seconds} (open loop) and waits for every reply. */
    void round(int rate, int seconds, boolean record) throws InterruptedException {
      Recorder recorder = new Recorder(3);
      AtomicLong failures = new AtomicLong();
      long intervalNanos = 1_000_000_000L / rate;
      long total = (long) rate * seconds;
      CountDownLatch done = new CountDownLatch((int) total);
      for (int k = 0; k < 4; k++) {
        counts[k].set(0);
      }
      long start = System.nanoTime() + 1_000_000;
      byte[] payload = new byte[16];
      for (long i = 0; i < total; i++) {
        long intended = start + i * intervalNanos;
        long now;
        while ((now = System.nanoTime()) < intended) {
          LockSupport.parkNanos(intended - now);
        }
        bus.request(Message.of("svc.quote", payload, 0), Duration.ofSeconds(60))
            .whenComplete(
                (reply, error) -> {
                  if (error != null) {
                    failures.incrementAndGet();
                  } else {
                    recorder.recordValue(System.nanoTime() - intended);
                  }
                  done.countDown();
                });
      }
      if (!done.await(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException("requests did not finish within 120 s");
      }
      if (record) {
        latency.add(recorder.getIntervalHistogram());
        failed += failures.get();
        for (int k = 0; k < 4; k++) {
          served[k] += counts[k].get();
        }
      }
    }

    Result result(int rate) {
      return new Result(routing, rate, latency, served, failed, rate);
    }

    @Override
    public void close() {
      bus.close();
      for (ExecutorService t : threads) {
        t.shutdownNow();
      }
    }
  }
}
