package io.switchboard.broker.consumer;

import io.switchboard.core.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One partition's acknowledgement state for a consumer: the next offset to deliver for the first
 * time, and the offsets below it still unacknowledged (in flight to a member, or idle: given back
 * or parked, waiting to be delivered again), with their delivery counts. Everything else below
 * {@link #next()} is done; the ack floor is the lowest unacknowledged offset. Owner thread only,
 * except {@link #next()}, which any thread may read.
 *
 * <p>Idle entries are kept apart, so what looks for redeliveries walks only those, and walks them
 * in place ({@link #firstIdle()}, {@link #idleAfter}) without copying anything. Both are {@link
 * OffsetMap}s: sorted arrays of primitive offsets, where a delivery appends and an ack in order
 * takes from the front, with no boxing and no tree node per message (the boxed {@code TreeMap} and
 * {@code TreeSet} they replace were a tenth of the server's CPU in a per-message-ack profile).
 */
final class AckTracker {
  /** The state of one unacknowledged message. */
  static final class Tracked {
    int deliveries;
    boolean inFlight;
    boolean deadLettering;

    /** Why it is being handed to the {@link DropHook} (then never delivered again), or null. */
    DropHook.Reason dropReason;

    long dueMs;
    String lastError;

    /** Key-shared mode: the message's key hash, and the member it is in flight to. */
    long keyHash;

    /** Whether {@link #keyHash} has been worked out (entries restored from disk start without). */
    boolean keyKnown;

    String member;

    /** The sequence number of its live delivery (see {@link Delivery#sequence()}). */
    long sequence;

    /**
     * Key-shared mode: a parked message kept ready (small ones only), so delivering it later does
     * not re-read and re-parse its batch. Bounded by maxAckPending.
     */
    Message parked;

    /**
     * The hold this entry has noted in {@link KeyHolds} (keyed modes), to take back when it
     * changes.
     */
    byte holdKind;

    long heldKey;
    String heldBy;

    Tracked(int deliveries, boolean inFlight, long dueMs) {
      this.deliveries = deliveries;
      this.inFlight = inFlight;
      this.dueMs = dueMs;
    }
  }

  /** Written by the owner only; volatile so a lag reading may take it from any thread. */
  private volatile long next;

  private final OffsetMap<Tracked> unacked = new OffsetMap<>();

  /** The entries of {@link #unacked} not in flight: the only candidates for redelivery. */
  private final OffsetMap<Tracked> idle = new OffsetMap<>();

  /** What {@link #firstIdle()} and {@link #idleAfter} answer when there is none. */
  static final long NONE = OffsetMap.NONE;

  private static final byte NO_HOLD = 0;
  private static final byte MEMBER_HOLD = 1;
  private static final byte HOLD_FROM_ALL = 2;

  /** Keyed modes: the consumer's key holds, kept up to date here; null otherwise. */
  private final KeyHolds holds;

  private final int maxDeliver;

  /**
   * @param holds the consumer's key holds in keyed modes (shared by its partitions), else null
   * @param maxDeliver the consumer's delivery limit (0: none): an idle entry that reached it awaits
   *     its dead letter
   */
  AckTracker(long next, KeyHolds holds, int maxDeliver) {
    this.next = next;
    this.holds = holds;
    this.maxDeliver = maxDeliver;
  }

  /**
   * Notes in the key holds what {@code tr} holds now; call after changing anything a hold depends
   * on (in flight, member, dead-lettering, deliveries, key).
   */
  void rehold(Tracked tr) {
    if (holds == null) {
      return;
    }
    byte kind;
    String by = null;
    if (!tr.keyKnown) {
      kind = NO_HOLD; // worked out before any delivery pass looks (ConsumerAgent.ensureKeys)
    } else if (tr.deadLettering
        || (!tr.inFlight && maxDeliver > 0 && tr.deliveries >= maxDeliver)) {
      kind = HOLD_FROM_ALL;
    } else if (tr.inFlight) {
      by = tr.member;
      kind = by == null ? HOLD_FROM_ALL : MEMBER_HOLD;
    } else {
      kind = NO_HOLD;
    }
    if (kind == tr.holdKind
        && tr.heldKey == tr.keyHash
        && java.util.Objects.equals(by, tr.heldBy)) {
      return;
    }
    release(tr);
    if (kind != NO_HOLD) {
      holds.hold(tr.keyHash, by);
      tr.holdKind = kind;
      tr.heldKey = tr.keyHash;
      tr.heldBy = by;
    }
  }

  private void release(Tracked tr) {
    if (holds != null && tr.holdKind != NO_HOLD) {
      holds.release(tr.heldKey, tr.heldBy);
    }
    tr.holdKind = NO_HOLD;
    tr.heldBy = null;
  }

  /** The next offset to deliver for the first time. Any thread. */
  long next() {
    return next;
  }

  void next(long offset) {
    next = offset;
  }

  /** Everything below this is done. */
  long floor() {
    return unacked.isEmpty() ? next : Math.min(next, unacked.firstKey());
  }

  int size() {
    return unacked.size();
  }

  Tracked get(long offset) {
    return unacked.get(offset);
  }

  /** Tracks {@code offset}; idle unless {@code tr} is in flight. */
  void add(long offset, Tracked tr) {
    Tracked was = unacked.put(offset, tr);
    if (was != null) {
      release(was);
    }
    if (!tr.inFlight) {
      idle.put(offset, tr);
    } else {
      idle.remove(offset);
    }
    rehold(tr);
  }

  /** Stops tracking {@code offset}: done. Whether it was tracked. */
  boolean remove(long offset) {
    idle.remove(offset);
    Tracked tr = unacked.remove(offset);
    if (tr != null) {
      release(tr);
    }
    return tr != null;
  }

  /** {@code tr} at {@code offset} went out to its member ({@code tr.member}, set before). */
  void sent(long offset, Tracked tr) {
    tr.inFlight = true;
    idle.remove(offset);
    rehold(tr);
  }

  /** {@code tr} at {@code offset} came back (nack, timeout, its member left): idle again. */
  void returned(long offset, Tracked tr) {
    tr.inFlight = false;
    idle.put(offset, tr);
    rehold(tr);
  }

  /** Entries not in flight. */
  int idleSize() {
    return idle.size();
  }

  boolean hasIdle() {
    return !idle.isEmpty();
  }

  /** The lowest idle offset, or {@link #NONE}. */
  long firstIdle() {
    return idle.firstKey();
  }

  /**
   * The lowest idle offset above {@code offset}, or {@link #NONE}: a walk that may remove as it
   * goes.
   */
  long idleAfter(long offset) {
    return idle.higherKey(offset);
  }

  /** Cumulative ack: stops tracking every in-flight entry at or below {@code offset}; how many. */
  int ackInFlightUpTo(long offset) {
    return unacked.removeUpTo(
        offset,
        tr -> {
          if (!tr.inFlight) {
            return false;
          }
          release(tr);
          return true;
        });
  }

  /** The entries in flight to {@code member} (a copy: the caller gives them back). */
  List<Map.Entry<Long, Tracked>> inFlightTo(String member) {
    List<Map.Entry<Long, Tracked>> out = new ArrayList<>();
    unacked.forEach(
        (offset, tr) -> {
          if (tr.inFlight && !tr.deadLettering && member.equals(tr.member)) {
            out.add(Map.entry(offset, tr));
          }
        });
    return out;
  }

  /** The state to persist: the next offset and each unacknowledged offset with its deliveries. */
  ConsumerState.PartitionState snapshot() {
    List<long[]> out = new ArrayList<>(unacked.size());
    unacked.forEach((offset, tr) -> out.add(new long[] {offset, tr.deliveries}));
    return new ConsumerState.PartitionState(next, out);
  }
}
