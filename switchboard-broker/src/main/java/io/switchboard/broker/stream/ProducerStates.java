package io.switchboard.broker.stream;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Idempotent-producer state of one partition: per producer id, its epoch, the last sequence stored
 * and where its last {@link #REMEMBERED} batches went. Owner-thread only.
 *
 * <p>Rules (Kafka's): a lower epoch than the known one is fenced; a new producer, or a new epoch,
 * starts at sequence 0; within an epoch the next batch starts at the last sequence plus one. A
 * batch whose sequences lie within one already stored is a retry, answered with the original
 * offsets; one further ahead is a gap, and one that overlaps a stored batch without lying within it
 * is out of order: both are rejected so that nothing is stored out of order. A single publish is a
 * batch of one. State is bounded ({@link #MAX_PRODUCERS}, least recently used forgotten) and
 * rebuilt from the batch headers of the log when the partition opens (a log batch is remembered as
 * one batch, whichever publishes it held).
 */
final class ProducerStates {
  /** Batches remembered per producer for duplicate answers; Kafka keeps the last 5. */
  static final int REMEMBERED = 64;

  /** Producers remembered per partition (~2 KiB each). */
  static final int MAX_PRODUCERS = 100_000;

  /** What to do with a publish. */
  sealed interface Verdict {}

  /** Store it. */
  record Accept() implements Verdict {}

  /**
   * Already stored: answer with {@code offset} (the first of the batch), once {@code original}
   * (null: already durable) completes.
   */
  record Duplicate(long offset, CompletableFuture<PublishAck> original) implements Verdict {}

  /** Refuse it with {@code error}. */
  record Reject(SwitchboardException error) implements Verdict {}

  private static final Accept ACCEPT = new Accept();

  private static final class State {
    short epoch;
    int lastSequence = -1;
    long lastTimestampMs = -1;

    /** Ring of the last batches: first sequence, record count, first offset, acknowledgement. */
    final int[] firstSequences = new int[REMEMBERED];

    final int[] counts = new int[REMEMBERED];
    final long[] offsets = new long[REMEMBERED];

    final List<CompletableFuture<PublishAck>> acks =
        new ArrayList<>(Collections.nCopies(REMEMBERED, null));

    int count;

    void reset(short newEpoch) {
      epoch = newEpoch;
      lastSequence = -1;
      count = 0;
    }

    void add(int firstSequence, int records, long offset, CompletableFuture<PublishAck> ack) {
      int slot = count++ % REMEMBERED;
      firstSequences[slot] = firstSequence;
      counts[slot] = records;
      offsets[slot] = offset;
      acks.set(slot, ack);
      lastSequence = firstSequence + records - 1;
    }

    /** The remembered batch holding sequences {@code first..first+records-1}, or -1. */
    int find(int first, int records) {
      for (int i = 0; i < Math.min(count, REMEMBERED); i++) {
        if (firstSequences[i] <= first
            && (long) first + records <= (long) firstSequences[i] + counts[i]) {
          return i;
        }
      }
      return -1;
    }
  }

  private final String stream;
  private final int partition;
  private final LinkedHashMap<Long, State> states =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, State> eldest) {
          return size() > MAX_PRODUCERS;
        }
      };

  ProducerStates(String stream, int partition) {
    this.stream = stream;
    this.partition = partition;
  }

  /** Decides what to do with the publish of {@code p}'s next message. */
  Verdict check(ProducerSequence p) {
    return check(p, 1);
  }

  /**
   * Decides what to do with a batch of {@code records} messages whose first sequence is {@code
   * p.sequence()}.
   */
  Verdict check(ProducerSequence p, int records) {
    State s = states.get(p.producerId());
    if (s == null || p.epoch() > s.epoch) {
      return p.sequence() == 0
          ? ACCEPT
          : reject(p, "a new " + (s == null ? "producer" : "epoch") + " starts at sequence 0");
    }
    if (p.epoch() < s.epoch) {
      return new Reject(
          SwitchboardException.of(
              ErrorCode.PRODUCER_FENCED, p.producerId(), p.epoch(), s.epoch, stream, partition));
    }
    if (p.sequence() == s.lastSequence + 1) {
      return ACCEPT;
    }
    if (p.sequence() > s.lastSequence) {
      return reject(p, "expected " + (s.lastSequence + 1) + ": a gap");
    }
    int slot = s.find(p.sequence(), records);
    if (slot < 0) {
      return reject(
          p,
          records == 1
              ? "older than the last " + REMEMBERED + " batches the partition remembers"
              : "sequences "
                  + p.sequence()
                  + ".."
                  + (p.sequence() + records - 1)
                  + " are not those of one of the last "
                  + REMEMBERED
                  + " batches the partition remembers");
    }
    return new Duplicate(
        s.offsets[slot] + (p.sequence() - s.firstSequences[slot]), s.acks.get(slot));
  }

  private Reject reject(ProducerSequence p, String why) {
    return new Reject(
        SwitchboardException.of(
            ErrorCode.OUT_OF_ORDER_SEQUENCE, p.producerId(), p.epoch(), p.sequence(), why));
  }

  /** Records an accepted publish at {@code offset}, stamped {@code timestampMs}. */
  void stored(
      ProducerSequence p, long offset, CompletableFuture<PublishAck> ack, long timestampMs) {
    stored(p, 1, offset, ack, timestampMs);
  }

  /**
   * Records an accepted batch of {@code records} messages from {@code offset} on, the largest of
   * whose timestamps is {@code timestampMs}.
   */
  void stored(
      ProducerSequence p,
      int records,
      long offset,
      CompletableFuture<PublishAck> ack,
      long timestampMs) {
    State s = states.computeIfAbsent(p.producerId(), id -> new State());
    if (p.epoch() != s.epoch) {
      s.reset(p.epoch());
    }
    s.add(p.sequence(), records, offset, ack);
    s.lastTimestampMs = timestampMs;
  }

  /** Every producer remembered, least recently used first (at most {@link #MAX_PRODUCERS}). */
  List<ProducerInfo> describe() {
    List<ProducerInfo> out = new ArrayList<>(states.size());
    states.forEach(
        (id, s) -> out.add(new ProducerInfo(id, s.epoch, s.lastSequence, s.lastTimestampMs)));
    return out;
  }

  /**
   * Undoes the latest {@link #stored} of {@code p} when its batch never reached the log, so the
   * producer's retry of that sequence is accepted afresh. Undo newest first.
   */
  void unstored(ProducerSequence p) {
    State s = states.get(p.producerId());
    if (s == null || s.epoch != p.epoch() || s.count == 0) {
      return;
    }
    int slot = (s.count - 1) % REMEMBERED;
    if (s.firstSequences[slot] != p.sequence()) {
      return;
    }
    s.count--;
    s.acks.set(slot, null);
    s.lastSequence = p.sequence() - 1;
  }

  /** Replays one stored batch's producer fields (records {@code base..base+count-1}). */
  void replay(
      long producerId,
      short epoch,
      int baseSequence,
      long baseOffset,
      int count,
      long maxTimestampMs) {
    if (producerId < 0 || baseSequence < 0) {
      return;
    }
    State s = states.computeIfAbsent(producerId, id -> new State());
    if (epoch != s.epoch) {
      s.reset(epoch);
    }
    s.add(baseSequence, count, baseOffset, null);
    s.lastTimestampMs = maxTimestampMs;
  }
}
