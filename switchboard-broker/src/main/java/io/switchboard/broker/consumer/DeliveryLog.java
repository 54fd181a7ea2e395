package io.switchboard.broker.consumer;

import io.switchboard.broker.consumer.AckTracker.Tracked;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Numbers a consumer's deliveries ({@link Delivery#sequence()}) and keeps, per member, its tracked
 * deliveries in the order made, so a cumulative ack ({@link ConsumerAgent#ackUpTo}) walks that
 * member's deliveries rather than every unacknowledged message. Owner thread only.
 *
 * <p>An entry whose delivery is no longer live (acknowledged, given back, redelivered) stays until
 * a walk passes it or a compaction drops it; compaction keeps the entries within twice the
 * unacknowledged messages (plus a constant), at O(1) amortized per delivery.
 */
final class DeliveryLog {
  /** Asks the consumer whether a delivery is still the live one. */
  interface Liveness {
    /** Whether {@code tr} is still the live, unacknowledged delivery {@code sequence} to member. */
    boolean isLive(int partition, long offset, Tracked tr, long sequence, String member);
  }

  /** Told of each live delivery a cumulative ack covers. */
  interface Covered {
    void accept(int partition, long offset);
  }

  private record Sent(int partition, long offset, Tracked tracked, long sequence) {}

  private final Liveness liveness;
  private final Map<String, ArrayDeque<Sent>> sentTo = new HashMap<>();
  private long entries;

  /**
   * The next delivery's sequence number. It starts from the clock (65,536 numbers per ms), so a
   * consumer started again in the same broker run does not hand out numbers an old delivery had.
   */
  private long nextSequence;

  DeliveryLog(long nowMs, Liveness liveness) {
    this.nextSequence = (Math.max(0, nowMs) << 16) + 1;
    this.liveness = liveness;
  }

  /**
   * Numbers a delivery and, when it is tracked ({@code tr} not null), notes it for cumulative acks.
   *
   * @param unacked the consumer's unacknowledged messages now (the bound compaction keeps to)
   */
  long number(String member, int partition, long offset, Tracked tr, int unacked) {
    long sequence = nextSequence++;
    if (tr != null) {
      tr.sequence = sequence;
      sentTo
          .computeIfAbsent(member, m -> new ArrayDeque<>())
          .addLast(new Sent(partition, offset, tr, sequence));
      if (++entries > 2L * unacked + 1024) {
        compact();
      }
    }
    return sequence;
  }

  /**
   * Passes every delivery to {@code member} numbered up to {@code sequence}, telling {@code
   * covered} of the live ones; returns how many were live.
   */
  int upTo(String member, long sequence, Covered covered) {
    ArrayDeque<Sent> sent = sentTo.get(member);
    if (sent == null) {
      return 0;
    }
    int live = 0;
    Sent s;
    while ((s = sent.peekFirst()) != null && s.sequence() <= sequence) {
      sent.pollFirst();
      entries--;
      if (isLive(s, member)) {
        covered.accept(s.partition(), s.offset());
        live++;
      }
    }
    if (sent.isEmpty()) {
      sentTo.remove(member);
    }
    return live;
  }

  /** Forgets a member that left. */
  void forget(String member) {
    ArrayDeque<Sent> sent = sentTo.remove(member);
    if (sent != null) {
      entries -= sent.size();
    }
  }

  /** Entries kept (tests: the bound). */
  long entries() {
    return entries;
  }

  private boolean isLive(Sent s, String member) {
    return liveness.isLive(s.partition(), s.offset(), s.tracked(), s.sequence(), member);
  }

  /** Drops the entries of deliveries no longer live: at least half of them. */
  private void compact() {
    long kept = 0;
    for (Iterator<Map.Entry<String, ArrayDeque<Sent>>> it = sentTo.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<String, ArrayDeque<Sent>> e = it.next();
      e.getValue().removeIf(s -> !isLive(s, e.getKey()));
      if (e.getValue().isEmpty()) {
        it.remove();
      } else {
        kept += e.getValue().size();
      }
    }
    entries = kept;
  }
}
