package io.switchboard.core.subject;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/** The matcher and the trie agree with a naive, obviously correct reference. */
class SubjectMatchPropertiesTest {

  /** Reference: split into tokens and compare one by one. */
  static boolean naive(String pattern, String subject) {
    String[] p = pattern.split("\\.", -1);
    String[] s = subject.split("\\.", -1);
    for (int i = 0; i < p.length; i++) {
      if (p[i].equals(">")) {
        return s.length > i;
      }
      if (i >= s.length) {
        return false;
      }
      if (!p[i].equals("*") && !p[i].equals(s[i])) {
        return false;
      }
    }
    return p.length == s.length;
  }

  @Provide
  Arbitrary<String> subject() {
    return Arbitraries.of("a", "b", "c", "ab")
        .list()
        .ofMinSize(1)
        .ofMaxSize(5)
        .map(l -> String.join(".", l));
  }

  @Provide
  Arbitrary<String> pattern() {
    Arbitrary<List<String>> tokens =
        Arbitraries.of("a", "b", "c", "ab", "*").list().ofMinSize(1).ofMaxSize(5);
    return tokens.flatMap(
        l ->
            Arbitraries.of(true, false)
                .map(
                    tail -> {
                      List<String> t = new ArrayList<>(l);
                      if (tail) {
                        t.set(t.size() - 1, ">");
                      }
                      return String.join(".", t);
                    }));
  }

  @Property(tries = 2000)
  void matcherAgreesWithTheReference(
      @ForAll("pattern") String pattern, @ForAll("subject") String subject) {
    Subjects.validatePattern(pattern, SubjectLimits.DEFAULTS);
    assertThat(Subjects.matches(pattern, subject))
        .as("%s ~ %s", pattern, subject)
        .isEqualTo(naive(pattern, subject));
  }

  @Property(tries = 300)
  void trieFindsExactlyTheMatchingPatterns(
      @ForAll @Size(max = 40) List<@From("pattern") String> patterns,
      @ForAll @Size(max = 20) List<@From("pattern") String> removed,
      @ForAll @Size(min = 1, max = 10) List<@From("subject") String> subjects) {
    SubjectTrie<String> trie = new SubjectTrie<>();
    Set<String> live = new HashSet<>();
    for (String p : patterns) {
      assertThat(trie.add(p, p)).isEqualTo(live.add(p));
    }
    for (String p : removed) {
      assertThat(trie.remove(p, p)).isEqualTo(live.remove(p));
    }
    assertThat(trie.size()).isEqualTo(live.size());
    for (String s : subjects) {
      Map<String, Integer> found = new HashMap<>();
      trie.match(s, v -> found.merge(v, 1, Integer::sum));
      Set<String> expected = new HashSet<>();
      for (String p : live) {
        if (naive(p, s)) {
          expected.add(p);
        }
      }
      assertThat(found.keySet()).as("subject %s", s).isEqualTo(expected);
      assertThat(found.values()).allMatch(c -> c == 1);
      assertThat(trie.hasMatch(s)).isEqualTo(!expected.isEmpty());
    }
    for (String p : live) {
      trie.remove(p, p);
    }
    assertThat(trie.size()).isZero();
  }

  @Property(tries = 200)
  void oneValueUnderManyPatternsIsReportedOncePerMatchingPattern(
      @ForAll @Size(min = 1, max = 10) List<@From("pattern") String> patterns,
      @ForAll("subject") String subject) {
    SubjectTrie<String> trie = new SubjectTrie<>();
    Set<String> distinct = new HashSet<>(patterns);
    for (String p : distinct) {
      trie.add(p, "same-subscriber");
    }
    int[] reported = {0};
    trie.match(subject, v -> reported[0]++);
    long expected = distinct.stream().filter(p -> naive(p, subject)).count();
    assertThat(reported[0]).isEqualTo((int) expected);
  }

  /** Every subject of 1..5 tokens over {a, b, c}: enough to witness any overlap of the patterns. */
  static List<String> allSubjects() {
    List<String> out = new ArrayList<>();
    List<String> level = List.of("");
    for (int depth = 1; depth <= 5; depth++) {
      List<String> next = new ArrayList<>();
      for (String prefix : level) {
        for (String t : List.of("a", "b", "c")) {
          next.add(prefix.isEmpty() ? t : prefix + "." + t);
        }
      }
      out.addAll(next);
      level = next;
    }
    return out;
  }

  static final List<String> ALL_SUBJECTS = allSubjects();

  @Provide
  Arbitrary<String> smallPattern() {
    Arbitrary<List<String>> tokens = Arbitraries.of("a", "b", "*").list().ofMinSize(1).ofMaxSize(4);
    return tokens.flatMap(
        l ->
            Arbitraries.of(true, false)
                .map(
                    tail -> {
                      List<String> t = new ArrayList<>(l);
                      if (tail) {
                        t.set(t.size() - 1, ">");
                      }
                      return String.join(".", t);
                    }));
  }

  @Property(tries = 2000)
  void overlapsIffSomeSubjectMatchesBoth(
      @ForAll("smallPattern") String a, @ForAll("smallPattern") String b) {
    boolean witnessed = false;
    for (String s : ALL_SUBJECTS) {
      if (naive(a, s) && naive(b, s)) {
        witnessed = true;
        break;
      }
    }
    assertThat(Subjects.overlaps(a, b)).as("%s vs %s", a, b).isEqualTo(witnessed);
    assertThat(Subjects.overlaps(b, a)).isEqualTo(witnessed);
  }

  /** The trie's overlap search finds a stored pattern exactly when some pair overlaps. */
  @Property(tries = 1000)
  void trieFindsAnOverlapIffSomeStoredPatternOverlaps(
      @ForAll @Size(max = 12) List<@From("smallPattern") String> stored,
      @ForAll("smallPattern") String probe) {
    SubjectTrie<String> trie = new SubjectTrie<>();
    for (String p : stored) {
      trie.add(p, p);
    }
    Set<String> overlapping = new HashSet<>();
    for (String p : stored) {
      if (Subjects.overlaps(p, probe)) {
        overlapping.add(p);
      }
    }
    String found = trie.firstOverlapping(probe, v -> true);
    if (overlapping.isEmpty()) {
      assertThat(found).as("%s against %s", probe, stored).isNull();
    } else {
      assertThat(overlapping).as("%s against %s", probe, stored).contains(found);
      // The filter is honoured: skipping what was found finds another, or none if it was alone.
      String other = trie.firstOverlapping(probe, v -> !v.equals(found));
      if (overlapping.size() == 1) {
        assertThat(other).isNull();
      } else {
        assertThat(overlapping).contains(other);
      }
    }
  }
}
