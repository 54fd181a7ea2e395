package io.switchboard.broker;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectTrie;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Durable bindings: rules that copy every message published on a matching subject into a stream,
 * inside the publish itself, so the publisher's acknowledgement covers the copies (see {@link
 * Broker#bind}). What RabbitMQ does when an exchange routes to durable queues, and what an MQTT
 * persistent session needs: a message acknowledged to its publisher is in every session inbox it
 * matched, even if the process is killed the next instant. Bindings live in memory; their owner
 * registers them again on start.
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

  /** One binding: its pattern, group and the copy it makes of a message. */
  final class Entry implements Binding {
    final String pattern;
    final String group;
    final UnaryOperator<Message> copier;
    private boolean closed;

    Entry(String pattern, String group, UnaryOperator<Message> copier) {
      this.pattern = pattern;
      this.group = group;
      this.copier = copier;
    }

    @Override
    public void close() {
      remove(this);
    }
  }

  private static final class Group {
    volatile Entry[] members = new Entry[0];
    final AtomicInteger cursor = new AtomicInteger();
  }

  Entry add(String pattern, String group, UnaryOperator<Message> copier) {
    if (group != null && (group.isEmpty() || group.length() > 256)) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "binding group name must have 1 to 256 characters");
    }
    if (count.incrementAndGet() > MAX_BINDINGS) {
      count.decrementAndGet();
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "the broker already has " + MAX_BINDINGS + " bindings (the limit)");
    }
    Entry b = new Entry(pattern, group, copier);
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

  private static String key(String pattern, String group) {
    return pattern + '\u0000' + group;
  }

  /**
   * The copies to store for {@code message}: one per matching binding outside a group, one per
   * matching group; a copier that returns null makes none.
   */
  List<Message> copies(Message message) {
    if (count.get() == 0) {
      return List.of();
    }
    List<Message> out = new ArrayList<>(2);
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
          Message copy = b.copier.apply(message);
          if (copy != null) {
            out.add(copy);
          }
        });
    return out;
  }

  int size() {
    return count.get();
  }
}
