package io.switchboard.cli;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.DeliveryEntry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The receiving side of {@code switchboard bench}: live subscribers (pubsub) and members of a
 * shared durable consumer (queue). Thread-safe: {@link #subscribe} and {@link #consume} run on the
 * command's thread, message handlers on each client's callback thread, acknowledgements on virtual
 * threads, {@link #drain} on the command's thread.
 *
 * <p>{@link SwitchboardClient#ack} blocks until the server answers, so acknowledging on the
 * callback thread would allow one acknowledgement per round trip and delay every later delivery.
 * Each acknowledgement runs on its own virtual thread instead; the client pipelines them, and the
 * consumer's credits bound how many are outstanding.
 */
final class BenchReceivers implements AutoCloseable {
  private static final long DRAIN_POLL_NS = TimeUnit.MILLISECONDS.toNanos(20);

  private final BenchMeter meter;
  private final AtomicReference<Throwable> failure;
  private final AtomicBoolean stop;
  private final List<DropCount> droppedPerSubscriber = new CopyOnWriteArrayList<>();
  private final AtomicLong acksOutstanding = new AtomicLong();
  private final AtomicLong acksSettled = new AtomicLong();
  private final ExecutorService ackers = Executors.newVirtualThreadPerTaskExecutor();

  BenchReceivers(BenchMeter meter, AtomicReference<Throwable> failure, AtomicBoolean stop) {
    this.meter = meter;
    this.failure = failure;
    this.stop = stop;
  }

  /** Subscribes {@code client} to {@code pattern}; returns once the subscription is in place. */
  void subscribe(SwitchboardClient client, String pattern) {
    DropCount dropped = new DropCount();
    droppedPerSubscriber.add(dropped);
    client.subscribe(
        pattern,
        null,
        m -> {
          meter.messageReceived(m.payload(), System.nanoTime());
          dropped.received(BenchMeter.measured(m.payload()));
        },
        dropped::reported);
  }

  /**
   * Joins consumer {@code consumer} of {@code stream} as {@code member} with push delivery and
   * {@code credits} unacknowledged messages at most; acknowledges each delivery when {@code
   * ackEach}, else returns credits in batches (a consumer with ack policy none tracks nothing).
   */
  void consume(
      SwitchboardClient client,
      String stream,
      String consumer,
      String member,
      int credits,
      boolean ackEach) {
    CreditReturn credit = new CreditReturn(Math.max(1, credits / 4));
    SwitchboardClient.Subscription sub =
        client.consume(
            stream,
            consumer,
            member,
            credits,
            d -> {
              meter.messageReceived(d.payload(), System.nanoTime());
              if (d.deliveryCount() > 1) {
                meter.redelivered.increment();
              }
              if (ackEach) {
                acknowledge(client, stream, consumer, d);
              } else {
                credit.used(1);
              }
            });
    credit.attach(sub);
  }

  private void acknowledge(
      SwitchboardClient client, String stream, String consumer, DeliveryEntry d) {
    acksOutstanding.incrementAndGet();
    boolean measured = BenchMeter.measured(d.payload());
    ackers.execute(
        () -> {
          try {
            if (client.ack(stream, consumer, d) && measured) {
              meter.consumerAcked.increment();
            }
          } catch (RuntimeException e) {
            meter.consumerAckFailed.increment();
            failure.compareAndSet(null, e);
            stop.set(true);
          } finally {
            acksSettled.incrementAndGet();
            acksOutstanding.decrementAndGet();
          }
        });
  }

  /**
   * Messages the server reported dropping for subscribers that fell behind (pubsub), counted from
   * each subscriber's first measured message: drops during the warm-up are left out.
   */
  long dropped() {
    long sum = 0;
    for (DropCount d : droppedPerSubscriber) {
      sum += d.measured();
    }
    return sum;
  }

  /**
   * Waits until {@code expected} measured messages were received or reported dropped and every
   * acknowledgement is answered, or a failure stopped the run, or nothing happened for {@code
   * idle}.
   */
  void drain(long expected, Duration idle) {
    long lastProgressNs = System.nanoTime();
    long lastSeen = -1;
    while (failure.get() == null) {
      boolean allReceived = meter.received.sum() + dropped() >= expected;
      if (allReceived && acksOutstanding.get() == 0) {
        return;
      }
      long seen = meter.receivedAllPhases.sum() + acksSettled.get() + dropped();
      long nowNs = System.nanoTime();
      if (seen != lastSeen) {
        lastSeen = seen;
        lastProgressNs = nowNs;
      } else if (nowNs - lastProgressNs > idle.toNanos()) {
        return;
      }
      LockSupport.parkNanos(DRAIN_POLL_NS);
    }
  }

  /** Waits for acknowledgements still running; their clients must still be open. */
  @Override
  public void close() {
    ackers.close();
  }

  /**
   * One subscription's drops. The server reports a running total, in order with the messages on the
   * same connection, so the total seen when the first measured message arrives is the warm-up's
   * share. Written on the client's callback thread, read by the command's.
   */
  private static final class DropCount {
    private volatile long total;
    private volatile long beforeMeasuring = -1;

    /** Callback thread: a message arrived. */
    void received(boolean measured) {
      if (measured && beforeMeasuring < 0) {
        beforeMeasuring = total;
      }
    }

    /** Callback thread: the server's running total of drops. */
    void reported(long runningTotal) {
      total = Math.max(total, runningTotal);
    }

    long measured() {
      long before = beforeMeasuring;
      return before < 0 ? total : total - before;
    }
  }

  /**
   * Returns a push consumer's credits in batches. Thread-safe: {@link #used} runs on the client's
   * callback thread, {@link #attach} on the command's, possibly after the first deliveries.
   */
  private static final class CreditReturn {
    private final int batch;
    private SwitchboardClient.Subscription sub;
    private int unreturned;

    CreditReturn(int batch) {
      this.batch = batch;
    }

    synchronized void used(int n) {
      unreturned += n;
      if (sub != null && unreturned >= batch) {
        sub.grant(unreturned);
        unreturned = 0;
      }
    }

    synchronized void attach(SwitchboardClient.Subscription s) {
      sub = s;
      if (unreturned > 0) {
        sub.grant(unreturned);
        unreturned = 0;
      }
    }
  }
}
