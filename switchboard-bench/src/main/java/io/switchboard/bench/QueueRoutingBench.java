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
 * send time (no coordinated omission). Every rate runs with round-robin and with adaptive routing,
 * one after the other in the same JVM.
 *
 * <pre>
 * java -cp switchboard-bench/target/switchboard-bench.jar io.switchboard.bench.QueueRoutingBench \
 *     [fastMs=1] [seconds=10] [rates=200,300,360]
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
    long fastMs = args.length > 0 ? Long.parseLong(args[0]) : 1;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    String rates = args.length > 2 ? args[2] : "200,300,360";
    System.out.printf(
        "4 responders, 3 x %d ms + 1 x %d ms, open loop, %d s per run (+2 s warm-up)%n",
        fastMs, 10 * fastMs, seconds);
    System.out.println(
        "| rate (req/s) | routing | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | share at slow"
            + " member | failed |");
    System.out.println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (String r : rates.split(",")) {
      int rate = Integer.parseInt(r.trim());
      Result rr = run(QueueRouting.ROUND_ROBIN, rate, fastMs, seconds);
      print(rr);
      Result ad = run(QueueRouting.ADAPTIVE, rate, fastMs, seconds);
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
        r.routing() == QueueRouting.ADAPTIVE ? "adaptive" : "round-robin",
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

  static Result run(QueueRouting routing, int rate, long fastMs, int seconds) throws Exception {
    LiveBus bus = new LiveBus(LiveBusConfig.DEFAULTS.withQueueRouting(routing), Clock.SYSTEM);
    List<ExecutorService> threads = new ArrayList<>();
    long[] served = new long[4];
    AtomicLong[] counts = new AtomicLong[4];
    try {
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
      Recorder recorder = new Recorder(3);
      AtomicLong failed = new AtomicLong();
      long intervalNanos = 1_000_000_000L / rate;
      long warmupNanos = TimeUnit.SECONDS.toNanos(2);
      long total = (long) rate * (seconds + 2);
      CountDownLatch done = new CountDownLatch((int) total);
      long start = System.nanoTime() + 10_000_000;
      long measuredFrom = start + warmupNanos;
      byte[] payload = new byte[16];
      long sent = 0;
      for (long i = 0; i < total; i++) {
        long intended = start + i * intervalNanos;
        long now;
        while ((now = System.nanoTime()) < intended) {
          LockSupport.parkNanos(intended - now);
        }
        bus.request(Message.of("svc.quote", payload, 0), Duration.ofSeconds(30))
            .whenComplete(
                (reply, error) -> {
                  if (intended >= measuredFrom) {
                    if (error != null) {
                      failed.incrementAndGet();
                    } else {
                      recorder.recordValue(System.nanoTime() - intended);
                    }
                  }
                  done.countDown();
                });
        sent++;
        if (i == (long) rate * 2) {
          for (int k = 0; k < 4; k++) {
            counts[k].set(0);
          }
        }
      }
      double sentRate = sent / ((System.nanoTime() - start) / 1e9);
      if (!done.await(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException("requests did not finish within 120 s");
      }
      for (int k = 0; k < 4; k++) {
        served[k] = counts[k].get();
      }
      return new Result(
          routing, rate, recorder.getIntervalHistogram(), served, failed.get(), sentRate);
    } finally {
      bus.close();
      for (ExecutorService t : threads) {
        t.shutdownNow();
      }
    }
  }
}
