package io.switchboard.cli;

import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * One publisher of {@code switchboard bench}: publishes over its own connection, with at most
 * {@code maxInFlight} publishes unacknowledged. Its {@link #run()} is confined to the publisher's
 * thread; acknowledgements are handled on the client's network thread and only touch the
 * thread-safe {@link BenchMeter}, the semaphore and the shared failure holders.
 *
 * <p>Pacing follows a fixed schedule: the k-th message is due at {@code firstNs + k * periodNs},
 * whenever the previous one actually went out, and its latency is measured from that due time. A
 * stall (a full in-flight window, a slow acknowledgement, a pause of this process) therefore shows
 * up as latency of every message it delayed, instead of silently lowering the send rate
 * (coordinated omission). At full speed ({@code periodNs == 0}) there is no schedule: a message is
 * due when a slot in the window frees, and latency is measured from then.
 */
final class BenchPublisher implements Runnable {
  /** Park only when at least this much time is left: parkNanos overshoots by tens of µs. */
  private static final long PARK_THRESHOLD_NS = 100_000;

  /** Wake this long before the due time and yield the rest, so a message is rarely late. */
  private static final long PARK_EARLY_NS = 80_000;

  /** The schedule and limits of one publisher. */
  record Plan(
      String[] subjects,
      int sizeBytes,
      long firstNs,
      long periodNs,
      long warmupEndNs,
      long endNs,
      long count,
      int maxInFlight,
      boolean noAck) {}

  private final SwitchboardClient client;
  private final Plan plan;
  private final BenchMeter meter;
  private final AtomicBoolean stop;
  private final AtomicReference<Throwable> failure;
  private final Semaphore window;

  /**
   * A publisher over {@code client}. Setting {@code stop} ends every publisher; the first failed
   * publish goes to {@code failure} and sets {@code stop}.
   */
  BenchPublisher(
      SwitchboardClient client,
      Plan plan,
      BenchMeter meter,
      AtomicBoolean stop,
      AtomicReference<Throwable> failure) {
    this.client = client;
    this.plan = plan;
    this.meter = meter;
    this.stop = stop;
    this.failure = failure;
    this.window = new Semaphore(plan.maxInFlight());
  }

  @Override
  public void run() {
    try {
      publishAll();
      // Every publish sent is settled (acknowledged or failed) before the publisher is done.
      if (!window.tryAcquire(
          plan.maxInFlight(), ClientCommand.REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        fail(
            new IllegalStateException(
                "publishes not acknowledged within "
                    + ClientCommand.REQUEST_TIMEOUT.toSeconds()
                    + " s"));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop.set(true);
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  private void publishAll() throws InterruptedException {
    // Publishers start together, so the warm-up and the measured phase begin for all at once.
    pace(plan.firstNs());
    long measuredSent = 0;
    for (long k = 0; !stop.get(); k++) {
      long dueNs;
      if (plan.periodNs() > 0) {
        dueNs = plan.firstNs() + k * plan.periodNs();
        if (dueNs >= plan.warmupEndNs() && isDone(measuredSent, dueNs)) {
          return;
        }
        pace(dueNs);
        window.acquire();
      } else {
        window.acquire();
        dueNs = System.nanoTime();
        if (dueNs >= plan.warmupEndNs() && isDone(measuredSent, dueNs)) {
          window.release();
          return;
        }
      }
      boolean measured = dueNs >= plan.warmupEndNs();
      if (measured) {
        measuredSent++;
        meter.published.increment();
      }
      send(k, dueNs, measured);
    }
  }

  private boolean isDone(long measuredSent, long dueNs) {
    return measuredSent >= plan.count() || dueNs >= plan.endNs();
  }

  private void send(long k, long dueNs, boolean measured) {
    String subject = plan.subjects()[(int) (k % plan.subjects().length)];
    byte[] payload = BenchMeter.stamp(plan.sizeBytes(), dueNs, measured);
    PublishBuilder publish = PublishBuilder.to(subject, payload);
    if (plan.noAck()) {
      publish.noAck(); // done once written: the window then bounds what waits to be written
    }
    client
        .publishAsync(publish)
        .whenComplete(
            (ack, e) -> {
              long nowNs = System.nanoTime();
              if (e == null) {
                meter.publishAcked(measured, dueNs, nowNs);
              } else {
                meter.publishFailed.increment();
                fail(e);
              }
              // Last: once every permit is back the report is read, and must count this one.
              window.release();
            });
  }

  private void fail(Throwable e) {
    failure.compareAndSet(null, e);
    stop.set(true);
  }

  /** Waits until {@code dueNs}: parks while far from it, then yields the core. */
  private void pace(long dueNs) {
    for (long left = dueNs - System.nanoTime(); left > 0; left = dueNs - System.nanoTime()) {
      if (stop.get()) {
        return;
      }
      if (left > PARK_THRESHOLD_NS) {
        LockSupport.parkNanos(left - PARK_EARLY_NS);
      } else {
        Thread.yield();
      }
    }
  }
}
