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
 * and where the last {@link #REMEMBERED} sequences went. Owner-thread only.
 *
 * <p>Rules (Kafka's): a lower epoch than the known one is fenced; a new producer, or a new epoch,
 * starts at sequence 0; within an epoch the next sequence is the last plus one. A sequence already
 * stored is a retry, answered with the original offset; one further ahead is a gap, rejected so
 * that nothing is stored out of order. State is bounded ({@link #MAX_PRODUCERS}, least recently
 * used forgotten) and rebuilt from the batch headers of the log when the partition opens.
 */
final class ProducerStates {
  /** Sequences remembered per producer for duplicate answers; Kafka keeps the last 5 batches. */
  static final int REMEMBERED = 64;

  /** Producers remembered per partition (~2 KiB each). */
  static final int MAX_PRODUCERS = 100_000;

  /** What to do with a publish. */
  sealed interface Verdict {}

  /** Store it. */
  record Accept() implements Verdict {}

  /**
   * Already stored: answer with {@code offset}, once {@code original} (null: already durable)
   * completes.
   */
  record Duplicate(long offset, CompletableFuture<PublishAck> original) implements Verdict {}

  /** Refuse it with {@code error}. */
  record Reject(SwitchboardException error) implements Verdict {}

  private static final Accept ACCEPT = new Accept();

  private static final class State {
    short epoch;
    int lastSequence = -1;
    final int[] sequences = new int[REMEMBERED];
    final long[] offsets = new long[REMEMBERED];

    final List<CompletableFuture<PublishAck>> acks =
        new ArrayList<>(Collections.nCopies(REMEMBERED, null));

    int count;

    void reset(short newEpoch) {
      epoch = newEpoch;
      lastSequence = -1;
      count = 0;
    }

    void add(int sequence, long offset, CompletableFuture<PublishAck> ack) {
      int slot = count++ % REMEMBERED;
      sequences[slot] = sequence;
      offsets[slot] = offset;
      acks.set(slot, ack);
      lastSequence = sequence;
    }

    int find(int sequence) {
      for (int i = 0; i < Math.min(count, REMEMBERED); i++) {
        if (sequences[i] == sequence) {
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
    int slot = s.find(p.sequence());
    if (slot < 0) {
      return reject(p, "older than the last " + REMEMBERED + " the partition remembers");
    }
    return new Duplicate(s.offsets[slot], s.acks.get(slot));
  }

  private Reject reject(ProducerSequence p, String why) {
    return new Reject(
        SwitchboardException.of(
            ErrorCode.OUT_OF_ORDER_SEQUENCE, p.producerId(), p.epoch(), p.sequence(), why));
  }

  /** Records an accepted publish at {@code offset}. */
  void stored(ProducerSequence p, long offset, CompletableFuture<PublishAck> ack) {
    State s = states.computeIfAbsent(p.producerId(), id -> new State());
    if (p.epoch() != s.epoch) {
      s.reset(p.epoch());
    }
    s.add(p.sequence(), offset, ack);
  }

  /**
   * Undoes the latest {@link #stored} of {@code p} when its batch never reached the log, so the
   * producer's retry of that sequence is accepted afresh. Undo newest first.
   */
  void unstored(ProducerSequence p) {
    State s = states.get(p.producerId());
    if (s == null || s.epoch != p.epoch() || s.lastSequence != p.sequence() || s.count == 0) {
      return;
    }
    int slot = --s.count % REMEMBERED;
    s.acks.set(slot, null);
    s.lastSequence = p.sequence() - 1;
  }

  /** Replays one stored batch's producer fields (records {@code base..base+count-1}). */
  void replay(long producerId, short epoch, int baseSequence, long baseOffset, int count) {
    if (producerId < 0 || baseSequence < 0) {
      return;
    }
    State s = states.computeIfAbsent(producerId, id -> new State());
    if (epoch != s.epoch) {
      s.reset(epoch);
    }
    for (int i = 0; i < count; i++) {
      s.add(baseSequence + i, baseOffset + i, null);
    }
  }
}
