package io.switchboard.cli;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What {@code switchboard bench} counts and times. Thread-safe: publishers, the clients' network
 * and callback threads record concurrently (counters are adders, latencies go to HdrHistogram
 * {@link Recorder}s, which are wait-free for writers); {@link #harvest()} folds the recorders into
 * the totals and must be called by one thread at a time (the progress thread, then the command's
 * thread once progress has stopped).
 *
 * <p>Every message carries its intended send time and its phase in its first bytes ({@link
 * #stamp}), so receivers in this process can time it end to end and ignore warm-up messages.
 */
final class BenchMeter {
  /** Room for the intended send time ({@code System.nanoTime()}, 8 bytes) and the phase byte. */
  static final int HEADER_BYTES = 9;

  /** Latencies above this are recorded as this: a 10-minute stall is already off any chart. */
  static final long HIGHEST_TRACKABLE_NS = TimeUnit.MINUTES.toNanos(10);

  private static final byte WARMUP = 0;
  private static final byte MEASURED = 1;

  final LongAdder published = new LongAdder();
  final LongAdder acked = new LongAdder();
  final LongAdder publishFailed = new LongAdder();
  final LongAdder received = new LongAdder();
  final LongAdder redelivered = new LongAdder();
  final LongAdder consumerAcked = new LongAdder();
  final LongAdder consumerAckFailed = new LongAdder();

  /** Every acknowledged publish and every received message, warm-up included, for progress. */
  final LongAdder ackedAllPhases = new LongAdder();

  final LongAdder receivedAllPhases = new LongAdder();

  private final AtomicLong lastAckNs = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong lastReceiveNs = new AtomicLong(Long.MIN_VALUE);
  private final Recorder publishRecorder = new Recorder(HIGHEST_TRACKABLE_NS, 3);
  private final Recorder endToEndRecorder = new Recorder(HIGHEST_TRACKABLE_NS, 3);
  private final Histogram publishLatency = new Histogram(HIGHEST_TRACKABLE_NS, 3);
  private final Histogram endToEndLatency = new Histogram(HIGHEST_TRACKABLE_NS, 3);
  private Histogram publishInterval;
  private Histogram endToEndInterval;

  /** A payload of {@code size} bytes stamped with its intended send time and phase. */
  static byte[] stamp(int size, long intendedNs, boolean measured) {
    byte[] payload = new byte[size];
    ByteBuffer.wrap(payload).putLong(0, intendedNs).put(8, measured ? MEASURED : WARMUP);
    return payload;
  }

  /** The intended send time a payload was stamped with. */
  static long intendedNs(byte[] payload) {
    return ByteBuffer.wrap(payload).getLong(0);
  }

  /** Whether a payload was sent after the warm-up. */
  static boolean measured(byte[] payload) {
    return payload.length >= HEADER_BYTES && payload[8] == MEASURED;
  }

  /** A publish was acknowledged at {@code nowNs}; it was meant to go at {@code intendedNs}. */
  void publishAcked(boolean measured, long intendedNs, long nowNs) {
    ackedAllPhases.increment();
    if (measured) {
      acked.increment();
      publishRecorder.recordValue(clamp(nowNs - intendedNs));
      lastAckNs.accumulateAndGet(nowNs, Math::max);
    }
  }

  /** A message arrived at a subscriber or consumer at {@code nowNs}. */
  void messageReceived(byte[] payload, long nowNs) {
    receivedAllPhases.increment();
    if (measured(payload)) {
      received.increment();
      endToEndRecorder.recordValue(clamp(nowNs - intendedNs(payload)));
      lastReceiveNs.accumulateAndGet(nowNs, Math::max);
    }
  }

  /** The last measured acknowledgement's time, or {@code fallbackNs} if there was none. */
  long lastAckNs(long fallbackNs) {
    long t = lastAckNs.get();
    return t == Long.MIN_VALUE ? fallbackNs : t;
  }

  /** The last measured receipt's time, or {@code fallbackNs} if there was none. */
  long lastReceiveNs(long fallbackNs) {
    long t = lastReceiveNs.get();
    return t == Long.MIN_VALUE ? fallbackNs : t;
  }

  /** Folds what the recorders hold into the totals. One caller at a time. */
  void harvest() {
    publishInterval = publishRecorder.getIntervalHistogram(publishInterval);
    publishLatency.add(publishInterval);
    endToEndInterval = endToEndRecorder.getIntervalHistogram(endToEndInterval);
    endToEndLatency.add(endToEndInterval);
  }

  /** Publish-ack latencies of measured messages, as of the last {@link #harvest()}. */
  Histogram publishLatency() {
    return publishLatency;
  }

  /** End-to-end latencies of measured messages, as of the last {@link #harvest()}. */
  Histogram endToEndLatency() {
    return endToEndLatency;
  }

  private static long clamp(long ns) {
    return Math.max(0, Math.min(ns, HIGHEST_TRACKABLE_NS));
  }
}
