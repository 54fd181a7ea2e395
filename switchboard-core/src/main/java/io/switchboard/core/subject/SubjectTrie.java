package io.switchboard.core.subject;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * An index from subject patterns to values (subscriptions), answering "which values match this
 * subject" in time that grows with the subject's depth and the number of matches, not with the
 * number of patterns.
 *
 * <p>Thread safety: thread-safe. Lookups take no lock and may run concurrently with changes, seeing
 * each change either whole or not at all per pattern; changes serialize on the trie. Values are
 * compared with {@code equals}; a value added twice under one pattern is stored once.
 *
 * <p>Each node has literal children (a concurrent map), a {@code *} child, and the values of
 * patterns ending there or ending in {@code >} there. Matching walks the subject's tokens with an
 * explicit work list, following at each node the literal child, the {@code *} child, and reporting
 * the {@code >} values when tokens remain — never recursing. What a subject matched is remembered
 * (at most {@value #CACHE_SUBJECTS} subjects, as NATS's sublist cache) until the trie next changes,
 * so a busy subject costs one map lookup.
 *
 * @param <T> the value type
 */
public final class SubjectTrie<T> {

  private static final Object[] NONE = new Object[0];

  private static final class Node {
    final Map<String, Node> children = new ConcurrentHashMap<>();
    volatile Node star;

    /** Values of patterns that end at this node. Copy-on-write. */
    volatile Object[] exact = NONE;

    /** Values of patterns that end with {@code >} below this node. Copy-on-write. */
    volatile Object[] rest = NONE;

    boolean isEmpty() {
      return children.isEmpty() && star == null && exact.length == 0 && rest.length == 0;
    }
  }

  private final Node root = new Node();
  private int size;

  /** Subjects whose matches are remembered at most (NATS keeps such a cache in its sublist). */
  static final int CACHE_SUBJECTS = 4096;

  /** What a subject matched, valid while the trie is at {@code generation}. */
  private record Cached(long generation, Object[] values) {}

  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  /** Bumped by every change; a cached result from an older generation is not used. */
  private volatile long generation;

  private void changed() {
    generation++; // under the trie's lock
    cache.clear();
  }

  /** Adds {@code value} under a valid {@code pattern}; returns false if it was already there. */
  public synchronized boolean add(String pattern, T value) {
    Node node = root;
    int start = 0;
    int n = pattern.length();
    while (true) {
      int end = pattern.indexOf(Subjects.SEPARATOR, start);
      if (end < 0) {
        end = n;
      }
      if (end - start == 1 && pattern.charAt(start) == '>') {
        Object[] updated = with(node.rest, value);
        if (updated == null) {
          return false;
        }
        node.rest = updated;
        size++;
        changed();
        return true;
      }
      Node next;
      if (end - start == 1 && pattern.charAt(start) == '*') {
        next = node.star;
        if (next == null) {
          next = new Node();
          node.star = next;
        }
      } else {
        next = node.children.computeIfAbsent(pattern.substring(start, end), k -> new Node());
      }
      node = next;
      if (end == n) {
        Object[] updated = with(node.exact, value);
        if (updated == null) {
          return false;
        }
        node.exact = updated;
        size++;
        changed();
        return true;
      }
      start = end + 1;
    }
  }

  /** Removes {@code value} from under {@code pattern}; returns false if it was not there. */
  public synchronized boolean remove(String pattern, T value) {
    // Remember the path so that emptied nodes can be unlinked afterwards.
    Node[] path = new Node[pattern.length() + 2];
    String[] keys = new String[pattern.length() + 2];
    int depth = 0;
    Node node = root;
    int start = 0;
    int n = pattern.length();
    boolean viaRest = false;
    while (true) {
      int end = pattern.indexOf(Subjects.SEPARATOR, start);
      if (end < 0) {
        end = n;
      }
      if (end - start == 1 && pattern.charAt(start) == '>') {
        viaRest = true;
        break;
      }
      String key = pattern.substring(start, end);
      Node next = key.equals(Subjects.ONE) ? node.star : node.children.get(key);
      if (next == null) {
        return false;
      }
      path[depth] = node;
      keys[depth] = key;
      depth++;
      node = next;
      if (end == n) {
        break;
      }
      start = end + 1;
    }
    Object[] current = viaRest ? node.rest : node.exact;
    Object[] updated = without(current, value);
    if (updated == null) {
      return false;
    }
    if (viaRest) {
      node.rest = updated;
    } else {
      node.exact = updated;
    }
    size--;
    changed();
    for (int i = depth - 1; i >= 0 && node.isEmpty(); i--) {
      Node parent = path[i];
      if (keys[i].equals(Subjects.ONE)) {
        parent.star = null;
      } else {
        parent.children.remove(keys[i], node);
      }
      node = parent;
    }
    return true;
  }

  /** Number of (pattern, value) entries. */
  public synchronized int size() {
    return size;
  }

  /**
   * Reports every value whose pattern matches the valid {@code subject}. A value stored under
   * several matching patterns is reported once per pattern.
   */
  @SuppressWarnings("unchecked")
  public void match(String subject, Consumer<? super T> out) {
    long g = generation; // read before the walk: a change during it makes the result stale
    Cached c = cache.get(subject);
    if (c == null || c.generation() != g) {
      List<Object> found = new ArrayList<>(4);
      walk(subject, found::add);
      c = new Cached(g, found.isEmpty() ? NONE : found.toArray());
      if (cache.size() >= CACHE_SUBJECTS) {
        cache.clear(); // bounded: a workload of ever-new subjects only pays the walk
      }
      cache.put(subject, c);
    }
    for (Object v : c.values()) {
      out.accept((T) v);
    }
  }

  private void walk(String subject, Consumer<Object> out) {
    // Work items: a node and the index in subject where its next token starts.
    ArrayDeque<Object> work = new ArrayDeque<>();
    work.push(0);
    work.push(root);
    int n = subject.length();
    while (!work.isEmpty()) {
      Node node = (Node) work.pop();
      int start = (Integer) work.pop();
      // Tokens remain from start on (start <= n always holds for pushed items).
      for (Object v : node.rest) {
        out.accept(v);
      }
      int end = subject.indexOf(Subjects.SEPARATOR, start);
      if (end < 0) {
        end = n;
      }
      Node literal =
          node.children.isEmpty() ? null : node.children.get(subject.substring(start, end));
      Node star = node.star;
      if (end == n) {
        if (literal != null) {
          for (Object v : literal.exact) {
            out.accept(v);
          }
        }
        if (star != null) {
          for (Object v : star.exact) {
            out.accept(v);
          }
        }
      } else {
        if (literal != null) {
          work.push(end + 1);
          work.push(literal);
        }
        if (star != null) {
          work.push(end + 1);
          work.push(star);
        }
      }
    }
  }

  /**
   * The first value {@code accept} takes among those whose pattern overlaps the valid {@code
   * pattern} (some subject matches both), or null. Walks only the branches the pattern can reach,
   * so a literal pattern costs its depth whatever the trie holds; {@code *} and {@code >} widen the
   * walk to the branches they cover.
   */
  @SuppressWarnings("unchecked")
  public T firstOverlapping(String pattern, Predicate<? super T> accept) {
    String[] tokens = pattern.split("\\.", -1);
    // Work items: a node and the index of the pattern's next token at it.
    ArrayDeque<Object> work = new ArrayDeque<>();
    work.push(0);
    work.push(root);
    while (!work.isEmpty()) {
      Node node = (Node) work.pop();
      int i = (Integer) work.pop();
      String token = tokens[i];
      if (token.equals(Subjects.REST)) {
        // The pattern's '>' takes one token or more: every pattern below this node overlaps.
        T found = firstBelow(node, accept);
        if (found != null) {
          return found;
        }
        continue;
      }
      // A stored '>' here takes this token and whatever follows it.
      for (Object v : node.rest) {
        if (accept.test((T) v)) {
          return (T) v;
        }
      }
      boolean last = i == tokens.length - 1;
      List<Node> next = new ArrayList<>();
      if (token.equals(Subjects.ONE)) {
        next.addAll(node.children.values());
      } else {
        Node literal = node.children.get(token);
        if (literal != null) {
          next.add(literal);
        }
      }
      if (node.star != null) {
        next.add(node.star);
      }
      for (Node child : next) {
        if (last) {
          for (Object v : child.exact) {
            if (accept.test((T) v)) {
              return (T) v;
            }
          }
        } else {
          work.push(i + 1);
          work.push(child);
        }
      }
    }
    return null;
  }

  /** The first accepted value of a pattern with at least one token below {@code node}. */
  @SuppressWarnings("unchecked")
  private T firstBelow(Node node, Predicate<? super T> accept) {
    for (Object v : node.rest) {
      if (accept.test((T) v)) {
        return (T) v;
      }
    }
    ArrayDeque<Node> work = new ArrayDeque<>(node.children.values());
    if (node.star != null) {
      work.push(node.star);
    }
    while (!work.isEmpty()) {
      Node n = work.pop();
      for (Object[] values : new Object[][] {n.exact, n.rest}) {
        for (Object v : values) {
          if (accept.test((T) v)) {
            return (T) v;
          }
        }
      }
      work.addAll(n.children.values());
      if (n.star != null) {
        work.push(n.star);
      }
    }
    return null;
  }

  /** Whether any pattern matches {@code subject} (for "no responders" and capture checks). */
  public boolean hasMatch(String subject) {
    boolean[] found = {false};
    match(subject, v -> found[0] = true);
    return found[0];
  }

  private static Object[] with(Object[] values, Object value) {
    for (Object v : values) {
      if (v.equals(value)) {
        return null;
      }
    }
    Object[] out = Arrays.copyOf(values, values.length + 1);
    out[values.length] = value;
    return out;
  }

  private static Object[] without(Object[] values, Object value) {
    for (int i = 0; i < values.length; i++) {
      if (values[i].equals(value)) {
        Object[] out = new Object[values.length - 1];
        System.arraycopy(values, 0, out, 0, i);
        System.arraycopy(values, i + 1, out, i, values.length - i - 1);
        return out.length == 0 ? NONE : out;
      }
    }
    return null;
  }
}
