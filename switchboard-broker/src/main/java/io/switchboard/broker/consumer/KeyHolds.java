package io.switchboard.broker.consumer;

import java.util.HashMap;
import java.util.Map;

/**
 * Keyed modes: which keys are held, and by whom, so a delivery pass asks about one key instead of
 * walking every unacknowledged message. A key is held by a member while a message of it is in
 * flight to that member, and held from everyone while a message of it awaits its dead letter (or is
 * in flight to no known member: a delivery a restart interrupted). Kept up to date by {@link
 * AckTracker} as its entries change. Owner thread only; bounded by the unacknowledged messages.
 */
final class KeyHolds {
  private static final class Hold {
    /** Holds on the key from everyone. */
    int all;

    /** Members holding the key, with how many messages each (almost always one member). */
    final Map<String, Integer> members = new HashMap<>(2);
  }

  private final Map<Long, Hold> holds = new HashMap<>();

  /** Notes a hold on {@code key} by {@code member}; null: from everyone. */
  void hold(long key, String member) {
    Hold h = holds.computeIfAbsent(key, k -> new Hold());
    if (member == null) {
      h.all++;
    } else {
      h.members.merge(member, 1, Integer::sum);
    }
  }

  /** Takes back one {@link #hold}. */
  void release(long key, String member) {
    Hold h = holds.get(key);
    if (h == null) {
      return;
    }
    if (member == null) {
      h.all--;
    } else {
      h.members.computeIfPresent(member, (m, n) -> n > 1 ? n - 1 : null);
    }
    if (h.all <= 0 && h.members.isEmpty()) {
      holds.remove(key);
    }
  }

  /** Whether a message of {@code key} may not go to {@code member} now: someone else holds it. */
  boolean heldFromOthers(long key, String member) {
    Hold h = holds.get(key);
    if (h == null) {
      return false;
    }
    if (h.all > 0) {
      return true;
    }
    for (String m : h.members.keySet()) {
      if (!m.equals(member)) {
        return true;
      }
    }
    return false;
  }

  /** Keys held now (tests). */
  int size() {
    return holds.size();
  }
}
