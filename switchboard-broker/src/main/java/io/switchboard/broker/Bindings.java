package io.switchboard.broker;

import io.switchboard.core.Message;
import io.switchboard.core.subject.SubjectTrie;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Durable bindings: rules that copy every message published on a matching subject into a stream,
 * inside the publish itself, so the publisher's acknowledgement covers the copies (see {@link
 * Broker#bindDurable}). What RabbitMQ does when an exchange routes to durable queues, and what an
 * MQTT persistent session needs: a message acknowledged to its publisher is in every session inbox
 * it matched, even if the process is killed the next instant. Bindings are declared ({@link
 * BindingSpec}), kept by owner and name, and stored by {@link BindingStore}; this class holds what
 * is in force now.
 *
 * <p>Thread-safe. Members of a group share their pattern; each message is copied by one of them, in
 * turn.
 */
final class Bindings {
  /** How many bindings one broker holds at most. */
  static final int MAX_BINDINGS = 1_000_000;

  private final SubjectTrie<Object> trie = new SubjectTrie<>();
  private final Map<String, Group> groups = new HashMap<>();
  private final AtomicInteger count = new AtomicInteger();

  /** Declared bindings by owner and name. */
  private final Map<String, Entry> declared = new HashMap<>();

  /** Each owner's filter, if it set one ({@link Broker#bindingFilter}). */
  private final Map<String, BindingFilter> filters = new java.util.concurrent.ConcurrentHashMap<>();

  /** A copy to store in {@code stream}. */
  record Copy(Message message, String stream) {}

  /** One binding in force: its declaration, and whether it has been removed. */
  private static final class Entry {
    final String pattern;
    final String group;
    final BindingSpec spec;
    boolean closed;

    Entry(BindingSpec spec) {
      this.pattern = spec.pattern();
      this.group = spec.group();
      this.spec = spec;
    }
  }

  private static final class Group {
    volatile Entry[] members = new Entry[0];
    final AtomicInteger cursor = new AtomicInteger();
  }

  /**
   * Puts a declared binding in force, replacing the one of the same owner and name. The caller has
   * checked the bound ({@link BindingStore} holds {@link #MAX_BINDINGS} at most).
   */
  synchronized void put(BindingSpec spec) {
    Entry old = declared.remove(key(spec.owner(), spec.name()));
    if (old != null) {
      remove(old);
    }
    count.incrementAndGet();
    Entry e = insert(new Entry(spec));
    declared.put(key(spec.owner(), spec.name()), e);
  }

  /** Removes a declared binding; false when there was none. */
  synchronized boolean drop(String owner, String name) {
    Entry old = declared.remove(key(owner, name));
    if (old == null) {
      return false;
    }
    remove(old);
    return true;
  }

  /** The declared bindings of {@code owner} (null: every owner's). */
  synchronized List<BindingSpec> declared(String owner) {
    List<BindingSpec> out = new ArrayList<>();
    for (Entry e : declared.values()) {
      if (owner == null || e.spec.owner().equals(owner)) {
        out.add(e.spec);
      }
    }
    return out;
  }

  private Entry insert(Entry b) {
    String pattern = b.pattern;
    String group = b.group;
    synchronized (this) {
      if (group == null) {
        trie.add(pattern, b);
      } else {
        Group g =
            groups.computeIfAbsent(
                key(pattern, group),
                k -> {
                  Group created = new Group();
                  trie.add(pattern, created);
                  return created;
                });
        Entry[] ms = Arrays.copyOf(g.members, g.members.length + 1);
        ms[ms.length - 1] = b;
        g.members = ms;
      }
    }
    return b;
  }

  private synchronized void remove(Entry b) {
    if (b.closed) {
      return;
    }
    b.closed = true;
    count.decrementAndGet();
    if (b.group == null) {
      trie.remove(b.pattern, b);
      return;
    }
    String key = key(b.pattern, b.group);
    Group g = groups.get(key);
    if (g == null) {
      return;
    }
    Entry[] rest = Arrays.stream(g.members).filter(m -> m != b).toArray(Entry[]::new);
    g.members = rest;
    if (rest.length == 0) {
      groups.remove(key);
      trie.remove(b.pattern, g);
    }
  }

  void filter(String owner, BindingFilter filter) {
    if (filter == null) {
      filters.remove(owner);
    } else {
      filters.put(owner, filter);
    }
  }

  private static String key(String pattern, String group) {
    return pattern + '\u0000' + group;
  }

  /**
   * The copies to store for {@code message}: one per matching binding outside a group, one per
   * matching group; a copier that returns null makes none. Declared bindings outside a group that
   * copy to the same stream under the same subject make one copy (as an AMQP queue bound twice gets
   * a message once).
   */
  List<Copy> copies(Message message) {
    if (count.get() == 0) {
      return List.of();
    }
    List<Copy> out = new ArrayList<>(2);
    // Where copies outside a group went (stream, subject): a set, as a wide pattern may match many.
    java.util.Set<String> targets = new java.util.HashSet<>();
    trie.match(
        message.subject(),
        entry -> {
          Entry b;
          if (entry instanceof Entry one) {
            b = one;
          } else {
            Group g = (Group) entry;
            Entry[] ms = g.members;
            if (ms.length == 0) {
              return;
            }
            b = ms[Math.floorMod(g.cursor.getAndIncrement(), ms.length)];
          }
          BindingFilter filter = filters.isEmpty() ? null : filters.get(b.spec.owner());
          if (filter != null && !filter.accepts(b.spec, message)) {
            return;
          }
          Message copy = b.spec.copyOf(message);
          if (copy == null) {
            return;
          }
          String stream = b.spec.stream();
          if (b.group == null && !targets.add(stream + '\u0000' + copy.subject())) {
            return; // already copied there by another binding
          }
          out.add(new Copy(copy, stream));
        });
    return out;
  }

  int size() {
    return count.get();
  }
}
