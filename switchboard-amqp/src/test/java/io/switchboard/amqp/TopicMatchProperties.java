package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The topic matcher every publish runs ({@link AmqpSubjects#matchWords}, dynamic programming)
 * against a small reference written straight from RabbitMQ's rule (backtracking: {@code *} is one
 * word, {@code #} zero or more, anywhere; empty words are words), and the subject mapping a '#'
 * binding is stored with: whatever the filter accepts, the binding's subject patterns captured.
 */
class TopicMatchProperties {

  /** The reference: tries every number of words for each '#'. */
  static boolean reference(List<String> p, int pi, List<String> k, int ki) {
    if (pi == p.size()) {
      return ki == k.size();
    }
    String w = p.get(pi);
    if (w.equals("#")) {
      for (int skip = ki; skip <= k.size(); skip++) {
        if (reference(p, pi + 1, k, skip)) {
          return true;
        }
      }
      return false;
    }
    return ki < k.size()
        && (w.equals("*") || w.equals(k.get(ki)))
        && reference(p, pi + 1, k, ki + 1);
  }

  @Provide
  Arbitrary<String> keys() {
    // Few distinct words (and the empty word) so that matches are frequent.
    return Arbitraries.of("a", "b", "", "x.y").list().ofMaxSize(6).map(ws -> String.join(".", ws));
  }

  @Provide
  Arbitrary<String> patterns() {
    return Arbitraries.of("a", "b", "", "*", "#", "#", "*")
        .list()
        .ofMaxSize(6)
        .map(ws -> String.join(".", ws));
  }

  @Property(tries = 3000)
  void matchesAsTheReference(@ForAll("patterns") String pattern, @ForAll("keys") String key) {
    List<String> p = AmqpSubjects.words(pattern);
    List<String> k = AmqpSubjects.words(key);
    assertThat(AmqpSubjects.topicMatches(pattern, key))
        .as("pattern '%s' key '%s'", pattern, key)
        .isEqualTo(reference(p, 0, k, 0));
  }

  @Property(tries = 3000)
  void theBindingsSubjectPatternsCaptureWhatTheFilterAccepts(
      @ForAll("patterns") String pattern, @ForAll("keys") String key) {
    String subject = AmqpSubjects.subject("ex", key);
    boolean filterSays =
        AmqpSubjects.matchWords(AmqpSubjects.words(pattern), AmqpSubjects.keyWords(subject));
    assertThat(filterSays).isEqualTo(AmqpSubjects.topicMatches(pattern, key));
    if (filterSays) {
      List<String> captured = new ArrayList<>();
      for (String sp : AmqpSubjects.patterns("topic", "ex", pattern)) {
        if (io.switchboard.core.subject.Subjects.matches(sp, subject)) {
          captured.add(sp);
        }
      }
      assertThat(captured).as("patterns of '%s' capture %s", pattern, subject).isNotEmpty();
    }
  }

  @Provide
  Arbitrary<String> names() {
    return Arbitraries.of(
            "a", "b", "", ".", "*", ">", "%", " ", "\t", "\u00a0", "\u2003", "é", "x.y")
        .list()
        .ofMaxSize(5)
        .map(ws -> String.join("", ws));
  }

  /**
   * The fast paths of the subject mapping (nothing to escape: plain concatenation, and a split at
   * the first dot back) say what the word-by-word escaping says, and the mapping goes back and
   * forth.
   */
  @Property(tries = 3000)
  void subjectsAreTheWordByWordEscapingAndGoBack(
      @ForAll("names") String exchange, @ForAll("names") String key) {
    org.junit.jupiter.api.Assumptions.assumeFalse(exchange.isEmpty());
    StringBuilder general = new StringBuilder(AmqpSubjects.escape(exchange));
    for (String w : AmqpSubjects.words(key)) {
      general.append('.').append(AmqpSubjects.escape(w));
    }
    String subject = AmqpSubjects.subject(exchange, key);
    assertThat(subject).isEqualTo(general.toString());
    assertThat(AmqpSubjects.exchangeAndKey(subject)).containsExactly(exchange, key);
  }
}
