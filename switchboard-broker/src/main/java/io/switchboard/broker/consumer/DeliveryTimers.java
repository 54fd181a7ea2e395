package io.switchboard.broker.consumer;

import java.util.PriorityQueue;

/**
 * The due times of a consumer's unacknowledged messages (ack deadlines, redelivery back-offs), in
 * order, so the owner finds what is due without looking at anything else. Owner thread only.
 *
 * <p>A timer is never cancelled: an entry whose message was acknowledged, or whose due time was
 * moved since, is simply skipped when it comes up ({@link Owner#isCurrent}). Skipped entries are
 * bounded: when they outnumber the live ones, the queue is rebuilt from the live ones.
 */
final class DeliveryTimers {
  /** Asks the consumer whether an entry still stands. */
  interface Owner {
    /**
     * Whether {@code tracked} is still the entry for (partition, offset) and still due at dueMs.
     */
    boolean isCurrent(int partition, long offset, Object tracked, long dueMs);

    /** How many entries could be live at most now (the consumer's unacknowledged count). */
    int live();
  }

  record Timer(long dueMs, int partition, long offset, Object tracked) {}

  private final PriorityQueue<Timer> queue =
      new PriorityQueue<>(
          (a, b) -> {
            int c = Long.compare(a.dueMs, b.dueMs);
            if (c != 0) {
              return c;
            }
            c = Integer.compare(a.partition, b.partition);
            return c != 0 ? c : Long.compare(a.offset, b.offset);
          });

  private final Owner owner;

  DeliveryTimers(Owner owner) {
    this.owner = owner;
  }

  void schedule(int partition, long offset, Object tracked, long dueMs) {
    queue.add(new Timer(dueMs, partition, offset, tracked));
    if (queue.size() > 2 * owner.live() + 1024) {
      queue.removeIf(t -> !owner.isCurrent(t.partition, t.offset, t.tracked, t.dueMs));
    }
  }

  /** The earliest due time of a current entry, or {@link Long#MAX_VALUE}. */
  long nextDueMs() {
    Timer t;
    while ((t = queue.peek()) != null
        && !owner.isCurrent(t.partition, t.offset, t.tracked, t.dueMs)) {
      queue.poll();
    }
    return t == null ? Long.MAX_VALUE : t.dueMs;
  }

  /** Removes and returns the next current entry due at or before {@code nowMs}, or null. */
  Timer pollDue(long nowMs) {
    // nextDueMs() leaves a current entry at the head, or the queue empty.
    return !queue.isEmpty() && nextDueMs() <= nowMs ? queue.poll() : null;
  }

  int size() {
    return queue.size();
  }
}
