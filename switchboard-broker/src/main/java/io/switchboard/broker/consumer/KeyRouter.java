package io.switchboard.broker.consumer;

import io.switchboard.core.Message;
import io.switchboard.log.format.Record;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who a keyed consumer's message goes to: in {@link DeliveryMode#KEY_SHARED} mode each key (the
 * message key, else its subject) belongs to one live member by rendezvous hashing, so when members
 * come and go only the keys of the ones that changed move; in {@link DeliveryMode#GROUP} mode the
 * key is the partition, and partitions are assigned to live members sticky and balanced. A member
 * is live while it fetched or was pushed to within an ack timeout. Owner thread only.
 */
final class KeyRouter {
  /** Members remembered at most before the long-silent ones are forgotten. */
  static final int MAX_REMEMBERED_MEMBERS = 1024;

  private final DeliveryMode mode;
  private final int partitions;
  private final long ackTimeoutMs;

  /** When each member last fetched or was pushed to. */
  private final Map<String, Long> memberSeen = new HashMap<>();

  /** Group mode: the assignment of partitions (index) to members, and the members it was for. */
  private List<String> assignment = List.of();

  private List<String> assignedFor = List.of();

  KeyRouter(DeliveryMode mode, int partitions, long ackTimeoutMs) {
    this.mode = mode;
    this.partitions = partitions;
    this.ackTimeoutMs = ackTimeoutMs;
  }

  /** Modes that give each key (key-shared) or partition (group) to one member at a time. */
  static boolean keyed(DeliveryMode mode) {
    return mode == DeliveryMode.KEY_SHARED || mode == DeliveryMode.GROUP;
  }

  /** {@code member} showed up (fetched, waits in a fetch, or is pushed to) at {@code now}. */
  void seen(String member, long now) {
    memberSeen.put(member, now);
  }

  /** Forgets a member that left; whether it was known. */
  boolean forget(String member) {
    return memberSeen.remove(member) != null;
  }

  /** Members seen within an ack timeout (plus the one asking now), sorted. */
  List<String> live(String asking, long now) {
    memberSeen.put(asking, now);
    if (memberSeen.size() > MAX_REMEMBERED_MEMBERS) {
      memberSeen.values().removeIf(seen -> now - seen > 10 * ackTimeoutMs);
    }
    List<String> live = new ArrayList<>();
    for (Map.Entry<String, Long> e : memberSeen.entrySet()) {
      if (now - e.getValue() <= ackTimeoutMs) {
        live.add(e.getKey());
      }
    }
    live.sort(null);
    return live;
  }

  /** What delivery is grouped by: the partition in group mode, else the record's key. */
  long keyOf(int partition, Record r) {
    return mode == DeliveryMode.GROUP ? partition : keyHash(r.key(), r.subject());
  }

  /** The key of a message read back (key-shared mode: its key, else its subject). */
  static long keyOf(Message m) {
    return keyHash(m.key() == null ? null : ByteBuffer.wrap(m.key()), m.subject());
  }

  /** The member {@code key} belongs to among {@code live} (sorted, not empty). */
  String ownerOf(long key, List<String> live) {
    return mode == DeliveryMode.GROUP ? assign(live).get((int) key) : owner(key, live);
  }

  /**
   * Group mode: partitions to members, sticky and balanced. When the live members change, the
   * partitions of members that left are freed, members above their fair share give up the excess,
   * and the free partitions go to members below it; everything else stays where it was.
   */
  List<String> assign(List<String> live) {
    if (live.equals(assignedFor)) {
      return assignment;
    }
    int n = partitions;
    List<String> next = new ArrayList<>(Collections.nCopies(n, (String) null));
    Map<String, Integer> load = new HashMap<>();
    for (String m : live) {
      load.put(m, 0);
    }
    int fair = (n + live.size() - 1) / live.size();
    for (int p = 0; p < n; p++) {
      String was = p < assignment.size() ? assignment.get(p) : null;
      if (was != null && load.containsKey(was) && load.get(was) < fair) {
        next.set(p, was);
        load.merge(was, 1, Integer::sum);
      }
    }
    for (int p = 0; p < n; p++) {
      if (next.get(p) == null) {
        String least = null;
        for (String m : live) {
          if (least == null || load.get(m) < load.get(least)) {
            least = m;
          }
        }
        next.set(p, least);
        load.merge(least, 1, Integer::sum);
      }
    }
    assignment = next;
    assignedFor = List.copyOf(live);
    return assignment;
  }

  /** The key that key-shared delivery groups by: the message key, else its subject. */
  static long keyHash(ByteBuffer key, String subject) {
    long h = 0x9E3779B97F4A7C15L;
    if (key != null) {
      for (int i = key.position(); i < key.limit(); i++) {
        h = (h ^ key.get(i)) * 0x100000001B3L;
      }
      return mix(h);
    }
    return mix(subject == null ? h : h ^ subject.hashCode() * 0xC2B2AE3D27D4EB4FL);
  }

  static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }

  /**
   * The member a key belongs to: rendezvous hashing over the live members, so when members come and
   * go only the keys of the ones that changed move.
   */
  static String owner(long keyHash, List<String> live) {
    String best = null;
    long bestScore = 0;
    for (String m : live) {
      long score = mix(keyHash ^ mix(m.hashCode()));
      if (best == null || Long.compareUnsigned(score, bestScore) > 0) {
        best = m;
        bestScore = score;
      }
    }
    return best;
  }
}
