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
