package io.switchboard.bench.compare;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The measuring loop every in-suite driver shares, so each peer is timed the same way: a warm-up,
 * then a measured window; payloads carry their intended send time (System.nanoTime, one process) so
 * receivers measure end to end, and at a fixed rate latency counts from the intended time (no
 * coordinated omission). At most {@code window} publishes are unacknowledged at once.
 *
 * <p>Thread-safe where it says so: receivers call {@link #received} from any thread.
 */
final class Load {
  /** How a driver hands one message to its broker. */
  interface Sender {
    /**
     * Sends {@code payload}; calls {@code done.run()} once the broker acknowledged it (at once for
     * a send without acknowledgement), or {@code failed} with the cause.
     */
    void send(byte[] payload, Runnable done, java.util.function.Consumer<Throwable> failed)
        throws Exception;
  }

  /** How long receivers may stay silent after publishing ended before the run is over. */
  static final Duration DRAIN_IDLE = Duration.ofSeconds(5);

  final Workload workload;
  final Duration warmup;
  final Duration measure;
  final int window;

  private final Recorder publishLatency = new Recorder(3);
  private final Recorder endToEnd = new Recorder(3);
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong receivedMeasured = new AtomicLong();
  private final AtomicLong lastReceiveNs = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
  private volatile long measureStartNs = Long.MAX_VALUE;
  private volatile long measureEndNs = Long.MAX_VALUE;
  private long publishedMeasured;
  private long publishEndNs;

  Load(Workload workload, Duration warmup, Duration measure, int window) {
    this.workload = workload;
    this.warmup = warmup;
    this.measure = measure;
    this.window = window;
  }

  /** A payload of the workload's size stamped with {@code intendedNs}. */
  byte[] payload(long intendedNs) {
    byte[] b = new byte[Math.max(Long.BYTES, workload.sizeBytes)];
    ByteBuffer.wrap(b).putLong(intendedNs);
    return b;
  }

  static long stamp(byte[] payload) {
    return ByteBuffer.wrap(payload).getLong();
  }

  /** A receiver got {@code payload}: counted and timed when it was sent in the measured window. */
  void received(byte[] payload) {
    long sent = stamp(payload);
    long now = System.nanoTime();
    if (sent >= measureStartNs && sent < measureEndNs) {
      endToEnd.recordValue(Math.max(0, now - sent));
      receivedMeasured.incrementAndGet();
      lastReceiveNs.accumulateAndGet(now, Math::max);
    }
  }

  /**
   * Publishes for the warm-up and the measured window, at the workload's rate (0: as fast as the
   * window allows), then waits for outstanding acknowledgements.
   */
  void publish(Sender sender) throws Exception {
    Semaphore inFlight = new Semaphore(window);
    long start = System.nanoTime();
    long warmEnd = start + warmup.toNanos();
    long end = warmEnd + measure.toNanos();
    long interval = workload.rate > 0 ? 1_000_000_000L / workload.rate : 0;
    long i = 0;
    measureStartNs = warmEnd;
    measureEndNs = end;
    while (true) {
      long intended = interval > 0 ? start + i * interval : System.nanoTime();
      if (intended >= end) {
        break;
      }
      if (interval > 0) {
        long wait;
        while ((wait = intended - System.nanoTime()) > 0) {
          LockSupport.parkNanos(Math.min(wait, 50_000));
        }
      } else if (System.nanoTime() >= end) {
        break;
      }
      if (!inFlight.tryAcquire(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("no acknowledgement for 30 s: the broker stalled");
      }
      boolean measured = intended >= warmEnd;
      if (measured) {
        publishedMeasured++;
      }
      long sentAt = intended;
      sender.send(
          payload(intended),
          () -> {
            if (measured) {
              publishLatency.recordValue(Math.max(0, System.nanoTime() - sentAt));
              acked.incrementAndGet();
            }
            inFlight.release();
          },
          t -> {
            failures.incrementAndGet();
            firstFailure.compareAndSet(null, t);
            inFlight.release();
          });
      i++;
    }
    if (!inFlight.tryAcquire(window, 60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("acknowledgements still outstanding 60 s after publishing");
    }
    publishEndNs = System.nanoTime();
  }

  /**
   * One request and its reply, synchronously; the driver calls {@link #received} with the reply.
   */
  interface RoundTrip {
    void call(byte[] payload) throws Exception;
  }

  /** Sequential round trips for the warm-up and the measured window. */
  void roundTrips(RoundTrip rt) throws Exception {
    long start = System.nanoTime();
    measureStartNs = start + warmup.toNanos();
    measureEndNs = measureStartNs + measure.toNanos();
    long now;
    while ((now = System.nanoTime()) < measureEndNs) {
      rt.call(payload(now));
    }
  }

  /** Waits until receivers have every measured message, or have been silent for a while. */
  void drain(int receivers) throws InterruptedException {
    long expected = acked.get() * receivers;
    long lastSeen = -1;
    long quietSince = System.nanoTime();
    while (receivedMeasured.get() < expected) {
      long now = receivedMeasured.get();
      if (now != lastSeen) {
        lastSeen = now;
        quietSince = System.nanoTime();
      } else if (System.nanoTime() - quietSince > DRAIN_IDLE.toNanos()) {
        return;
      }
      Thread.sleep(20); // polling a counter, not waiting in place of a condition
    }
  }

  /** The run's result, led by the workload's headline figure. */
  Result result(String broker, String client, Durability d, int receivers, String note) {
    Histogram pub = publishLatency.getIntervalHistogram();
    Histogram e2e = endToEnd.getIntervalHistogram();
    long measuredNs = measure.toNanos();
    double msgPerSec;
    Histogram latency;
    long messages;
    if (workload.headline == Workload.Headline.PUBLISH) {
      long elapsed = Math.max(measuredNs, publishEndNs - measureStartNs);
      msgPerSec = acked.get() * 1e9 / elapsed;
      latency = pub;
      messages = acked.get();
    } else {
      long elapsed = Math.max(measuredNs, lastReceiveNs.get() - measureStartNs);
      msgPerSec = receivedMeasured.get() * 1e9 / elapsed;
      latency = e2e;
      messages = receivedMeasured.get();
    }
    StringBuilder n = new StringBuilder(note == null ? "" : note);
    long expected = acked.get() * receivers;
    if (workload.headline != Workload.Headline.PUBLISH && receivedMeasured.get() < expected) {
      append(
          n,
          String.format(
              java.util.Locale.ROOT,
              "%,d of %,d not received",
              expected - receivedMeasured.get(),
              expected));
    }
    if (failures.get() > 0) {
      append(n, failures.get() + " publishes failed: " + firstFailure.get());
    }
    return new Result(
        broker,
        client,
        workload,
        d,
        msgPerSec,
        msgPerSec * workload.sizeBytes / 1e6,
        percentileUs(latency, 50),
        percentileUs(latency, 99),
        percentileUs(latency, 99.9),
        messages,
        n.toString());
  }

  long publishedMeasured() {
    return publishedMeasured;
  }

  static double percentileUs(Histogram h, double p) {
    return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(p) / 1e3;
  }

  static void append(StringBuilder b, String s) {
    if (!b.isEmpty()) {
      b.append("; ");
    }
    b.append(s);
  }
}
