package io.switchboard.broker.consumer;

import java.util.Arrays;
import java.util.function.Predicate;

/**
 * Owner-thread only: an ordered map from offsets ({@code long}, never boxed) to values, shaped for
 * a consumer's unacknowledged messages, which arrive in increasing offset order and mostly leave
 * from the front.
 *
 * <p>Keys sit sorted in an array window {@code [head, tail)} with the values beside them. Adding
 * above the last key appends; a removed entry keeps its key with a null value (a tombstone) until
 * the window's ends move past it or a compaction squeezes the tombstones out once they outnumber
 * the live entries; look-ups are binary searches of the window. So the common steps (deliver the
 * next offset, ack the oldest) are O(1) amortized, any look-up O(log n), and memory stays within
 * about twice the live entries plus a constant — unlike a window indexed by offset, which would
 * grow with the distance between the oldest unacknowledged offset and the newest.
 *
 * <p>Invariants: keys in the window are strictly increasing; when the map is not empty, {@code
 * head} and {@code tail - 1} hold live entries.
 *
 * @param <V> the value type; null values are not allowed
 */
final class OffsetMap<V> {
  /**
   * What the key-returning methods answer when there is no such key (offsets are never negative).
   */
  static final long NONE = -1;

  private static final int INITIAL_CAPACITY = 16;

  private long[] keys = new long[INITIAL_CAPACITY];
  private Object[] values = new Object[INITIAL_CAPACITY];
  private int head;
  private int tail;
  private int size;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** The value at {@code key}, or null. */
  @SuppressWarnings("unchecked")
  V get(long key) {
    int i = find(key);
    return i < 0 ? null : (V) values[i];
  }

  boolean containsKey(long key) {
    return find(key) >= 0;
  }

  /** Maps {@code key} to {@code value}; returns the value it replaced, or null. */
  @SuppressWarnings("unchecked")
  V put(long key, V value) {
    if (value == null) {
      throw new NullPointerException("value");
    }
    if (size == 0) {
      head = 0; // trimEnds cleared the window when the last entry left
      tail = 0;
    }
    if (tail == head || key > keys[tail - 1]) {
      if (tail == keys.length) {
        makeRoom();
      }
      keys[tail] = key;
      values[tail] = value;
      tail++;
      size++;
      return null;
    }
    int i = Arrays.binarySearch(keys, head, tail, key);
    if (i >= 0) {
      V was = (V) values[i];
      values[i] = value;
      if (was == null) {
        size++;
      }
      return was;
    }
    int at = -i - 1;
    if (at == head && head > 0) {
      head--;
      keys[head] = key;
      values[head] = value;
      size++;
      return null;
    }
    if (tail == keys.length) {
      makeRoom();
      at = -Arrays.binarySearch(keys, head, tail, key) - 1;
    }
    System.arraycopy(keys, at, keys, at + 1, tail - at);
    System.arraycopy(values, at, values, at + 1, tail - at);
    keys[at] = key;
    values[at] = value;
    tail++;
    size++;
    return null;
  }

  /** Removes {@code key}; returns its value, or null when it was not there. */
  @SuppressWarnings("unchecked")
  V remove(long key) {
    int i = find(key);
    if (i < 0) {
      return null;
    }
    V was = (V) values[i];
    values[i] = null;
    size--;
    trimEnds();
    return was;
  }

  /** The lowest key, or {@link #NONE}. */
  long firstKey() {
    return size == 0 ? NONE : keys[head];
  }

  /** The lowest key above {@code key}, or {@link #NONE}. */
  long higherKey(long key) {
    if (size == 0 || key >= keys[tail - 1]) {
      return NONE;
    }
    int from;
    if (key < keys[head]) {
      from = head;
    } else {
      int i = Arrays.binarySearch(keys, head, tail, key);
      from = i >= 0 ? i + 1 : -i - 1;
    }
    for (int j = from; j < tail; j++) {
      if (values[j] != null) {
        return keys[j];
      }
    }
    return NONE;
  }

  /** What {@link #forEach} calls. */
  @FunctionalInterface
  interface Visitor<V> {
    void accept(long key, V value);
  }

  /** Calls {@code visitor} for every entry in key order; the visitor must not change the map. */
  @SuppressWarnings("unchecked")
  void forEach(Visitor<? super V> visitor) {
    for (int i = head; i < tail; i++) {
      if (values[i] != null) {
        visitor.accept(keys[i], (V) values[i]);
      }
    }
  }

  /**
   * Removes every entry with a key at or below {@code maxKey} whose value {@code remove} accepts
   * (it may act on the value as it decides, but must not change the map); returns how many.
   */
  @SuppressWarnings("unchecked")
  int removeUpTo(long maxKey, Predicate<? super V> remove) {
    int removed = 0;
    for (int i = head; i < tail && keys[i] <= maxKey; i++) {
      if (values[i] != null && remove.test((V) values[i])) {
        values[i] = null;
        size--;
        removed++;
      }
    }
    if (removed > 0) {
      trimEnds();
    }
    return removed;
  }

  private int find(long key) {
    if (size == 0 || key < keys[head] || key > keys[tail - 1]) {
      return -1;
    }
    int i = Arrays.binarySearch(keys, head, tail, key);
    return i >= 0 && values[i] != null ? i : -1;
  }

  /** Moves the window's ends past tombstones; compacts when tombstones outnumber live entries. */
  private void trimEnds() {
    if (size == 0) {
      Arrays.fill(values, head, tail, null);
      head = 0;
      tail = 0;
      return;
    }
    while (values[head] == null) {
      head++;
    }
    while (values[tail - 1] == null) {
      tail--;
    }
    int dead = tail - head - size;
    if (dead > size && dead > INITIAL_CAPACITY) {
      compact();
    }
  }

  /** Squeezes tombstones out and moves the window to the array's start. */
  private void compact() {
    int w = 0;
    for (int i = head; i < tail; i++) {
      if (values[i] != null) {
        keys[w] = keys[i];
        values[w] = values[i];
        w++;
      }
    }
    Arrays.fill(values, w, tail, null);
    head = 0;
    tail = w;
  }

  /** Frees at least one slot at the end: compacts when that frees a quarter, else doubles. */
  private void makeRoom() {
    if (tail - size >= keys.length / 4) {
      compact();
      return;
    }
    compact();
    keys = Arrays.copyOf(keys, keys.length * 2);
    values = Arrays.copyOf(values, values.length * 2);
  }
}
