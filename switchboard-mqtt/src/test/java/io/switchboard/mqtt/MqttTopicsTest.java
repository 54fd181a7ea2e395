package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.subject.SubjectLimits;
import io.switchboard.core.subject.Subjects;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class MqttTopicsTest {

  @Test
  void shouldMapLevelsToTokensAndEscapeWhatSubjectsReserve() {
    assertThat(MqttTopics.toSubject("sensors/kitchen/temp")).isEqualTo("sensors.kitchen.temp");
    assertThat(MqttTopics.toSubject("/a//b/")).isEqualTo("%.a.%.b.%");
    assertThat(MqttTopics.toSubject("a.b/c d/x*y>z/100%"))
        .isEqualTo("a%2Eb.c%20d.x%2Ay%3Ez.100%25");
    assertThat(MqttTopics.toSubject("$SYS/broker")).isEqualTo("$SYS.broker");
    assertThat(MqttTopics.toSubject("/")).isEqualTo("%.%");
  }

  @Test
  void shouldMapFilterWildcardsAndMatchTheParentOfAHash() {
    assertThat(MqttTopics.toPatterns("sensors/+/temp")).containsExactly("sensors.*.temp");
    assertThat(MqttTopics.toPatterns("sensors/#")).containsExactly("sensors.>", "sensors");
    assertThat(MqttTopics.toPatterns("#")).containsExactly(">");
    assertThat(MqttTopics.toPatterns("+")).containsExactly("*");
    assertThat(MqttTopics.toPatterns("a b/+")).containsExactly("a%20b.*");
  }

  @Test
  void wildcardFiltersDoNotSeeDollarTopics() {
    assertThat(MqttTopics.wildcardMaySee("#", "$SYS/x")).isFalse();
    assertThat(MqttTopics.wildcardMaySee("+/x", "$SYS/x")).isFalse();
    assertThat(MqttTopics.wildcardMaySee("$SYS/#", "$SYS/x")).isTrue();
    assertThat(MqttTopics.wildcardMaySee("#", "a/x")).isTrue();
  }

  @Test
  void filterSyntaxFollowsTheSpec() {
    assertThat(MqttReasons.validFilter("a/+/b")).isTrue();
    assertThat(MqttReasons.validFilter("a/#")).isTrue();
    assertThat(MqttReasons.validFilter("#")).isTrue();
    assertThat(MqttReasons.validFilter("a/#/b")).isFalse();
    assertThat(MqttReasons.validFilter("a/b#")).isFalse();
    assertThat(MqttReasons.validFilter("a/b+")).isFalse();
    assertThat(MqttReasons.validFilter("")).isFalse();
  }

  @Property(tries = 2000)
  void everyLegalTopicMapsToAValidSubjectAndBack(@ForAll("topics") String topic) {
    String subject = MqttTopics.toSubject(topic);
    Subjects.validateSubject(subject, new SubjectLimits(10_000, 1 << 20));
    assertThat(MqttTopics.toTopic(subject)).isEqualTo(topic);
  }

  @Property(tries = 1000)
  void differentTopicsNeverShareASubject(@ForAll("topics") String a, @ForAll("topics") String b) {
    if (!a.equals(b)) {
      assertThat(MqttTopics.toSubject(a)).isNotEqualTo(MqttTopics.toSubject(b));
    }
  }

  @Test
  void filtersMatchTopicsByMqttRules() {
    assertThat(MqttTopics.matches("a/+/c", "a/b/c")).isTrue();
    assertThat(MqttTopics.matches("a/+/c", "a/b/d")).isFalse();
    assertThat(MqttTopics.matches("a/#", "a")).isTrue();
    assertThat(MqttTopics.matches("a/#", "a/b/c")).isTrue();
    assertThat(MqttTopics.matches("a/+", "a")).isFalse();
    assertThat(MqttTopics.matches("+/+", "/x")).isTrue();
    assertThat(MqttTopics.matches("#", "$SYS/x")).isFalse();
    assertThat(MqttTopics.matches("$SYS/#", "$SYS/x")).isTrue();
    assertThat(MqttTopics.matches("a/b", "a/b/")).isFalse();
  }

  /**
   * The MQTT matcher the front end uses to find a message's overlapping subscriptions agrees with
   * the broker's subject matcher on the filter's patterns (which route the message to them).
   */
  @Property(tries = 2000)
  void theTopicMatcherAgreesWithTheSubjectMatcher(
      @ForAll("topics") String topic, @ForAll("topics") String other, @ForAll long seed) {
    java.util.Random r = new java.util.Random(seed);
    String[] levels = (r.nextBoolean() ? topic : other).split("/", -1);
    StringBuilder filter = new StringBuilder();
    int cut = r.nextInt(4) == 0 ? r.nextInt(levels.length + 1) : -1;
    for (int i = 0; i < levels.length; i++) {
      if (i == cut) {
        filter.append(i == 0 ? "#" : "/#");
        break;
      }
      filter.append(i == 0 ? "" : "/").append(r.nextInt(3) == 0 ? "+" : levels[i]);
    }
    String f = filter.toString();
    if (f.isEmpty() || !MqttReasons.validFilter(f)) {
      return;
    }
    String subject = MqttTopics.toSubject(topic);
    boolean bySubject =
        MqttTopics.wildcardMaySee(f, topic)
            && MqttTopics.toPatterns(f).stream().anyMatch(p -> Subjects.matches(p, subject));
    assertThat(MqttTopics.matches(f, topic)).as("%s against %s", f, topic).isEqualTo(bySubject);
  }

  @Provide
  Arbitrary<String> topics() {
    // Any UTF-8 but NUL and the wildcards, with plenty of separators, reserved and odd characters.
    Arbitrary<Character> chars =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(5, Arbitraries.chars().alpha()),
            net.jqwik.api.Tuple.of(3, Arbitraries.of('/', '.', '*', '>', '%', ' ', '$', '\t')),
            net.jqwik.api.Tuple.of(
                2, Arbitraries.chars().range('\u0001', '\uD7FF').filter(c -> c != '+' && c != '#')),
            net.jqwik.api.Tuple.of(1, Arbitraries.of('\u00A0', '\u2003', '\u3000', '\u007F')));
    return chars.list().ofMinSize(1).ofMaxSize(40).map(MqttTopicsTest::join);
  }

  static String join(java.util.List<Character> cs) {
    StringBuilder sb = new StringBuilder();
    cs.forEach(sb::append);
    return sb.toString();
  }
}
