package io.switchboard.core.subject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SubjectsTest {
  static final SubjectLimits L = SubjectLimits.DEFAULTS;

  static void rejectsSubject(String s, String problem) {
    assertThatThrownBy(() -> Subjects.validateSubject(s, L))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_SUBJECT);
              assertThat(e.getMessage()).contains(problem);
            });
  }

  static void rejectsPattern(String s, String problem) {
    assertThatThrownBy(() -> Subjects.validatePattern(s, L))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_PATTERN);
              assertThat(e.getMessage()).contains(problem);
            });
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "orders.eu.created", "a.b-c_d.e:f", "ünï.cødé.日本", "x.\uD83D\uDE00"})
  void shouldAcceptValidSubjects(String s) {
    assertThat(Subjects.validateSubject(s, L)).isEqualTo(s);
    assertThat(Subjects.validatePattern(s, L)).isEqualTo(s);
    assertThat(Subjects.isLiteral(s)).isTrue();
  }

  @Test
  void cachedMatchesFollowEveryAddAndRemove() {
    SubjectTrie<String> trie = new SubjectTrie<>();
    java.util.List<String> seen = new java.util.ArrayList<>();
    trie.match("a.b", seen::add);
    org.assertj.core.api.Assertions.assertThat(seen).isEmpty();
    trie.add("a.*", "star");
    seen.clear();
    trie.match("a.b", seen::add); // the empty result cached above must not be served now
    org.assertj.core.api.Assertions.assertThat(seen).containsExactly("star");
    trie.add("a.>", "rest");
    seen.clear();
    trie.match("a.b", seen::add);
    org.assertj.core.api.Assertions.assertThat(seen).containsExactlyInAnyOrder("star", "rest");
    trie.remove("a.*", "star");
    seen.clear();
    trie.match("a.b", seen::add);
    org.assertj.core.api.Assertions.assertThat(seen).containsExactly("rest");
    for (int i = 0; i < SubjectTrie.CACHE_SUBJECTS * 2; i++) { // more subjects than it keeps
      seen.clear();
      trie.match("a.s" + i, seen::add);
      org.assertj.core.api.Assertions.assertThat(seen).containsExactly("rest");
    }
  }

  @Test
  void shouldRejectBadSubjectsNamingTheProblem() {
    rejectsSubject("", "empty");
    rejectsSubject(".a", "empty token at position 0");
    rejectsSubject("a..b", "empty token at position 2");
    rejectsSubject("a.", "empty token at position 2");
    rejectsSubject("a.*", "wildcard '*' at position 2");
    rejectsSubject("a.>", "not allowed in a publish subject");
    rejectsSubject("a.b*c", "wildcard '*' at position 3");
    rejectsSubject("a b", "whitespace or control character at position 1");
    rejectsSubject("a\u0000b", "NUL at position 1");
    rejectsSubject("a\tb", "position 1");
    rejectsSubject("a.\uD83Db", "lone surrogate");
    rejectsSubject("a".repeat(1025), "longer than 1024 bytes");
    rejectsSubject("é".repeat(513), "longer than 1024 bytes");
    rejectsSubject("a.".repeat(128) + "a", "more than 128 tokens");
    assertThatThrownBy(() -> Subjects.validateSubject(null, L))
        .isInstanceOf(SwitchboardException.class);
  }

  @Test
  void shouldRejectBadPatternsNamingTheProblem() {
    rejectsPattern("a.>.b", "'>' at position 2 must be the last token");
    rejectsPattern("a.b*", "must be a whole token");
    rejectsPattern("a.>>", "must be a whole token");
    rejectsPattern("a..*", "empty token");
    assertThat(Subjects.validatePattern("*.b.>", L)).isEqualTo("*.b.>");
    assertThat(Subjects.isLiteral("*.b")).isFalse();
    assertThat(Subjects.isLiteral("a.>")).isFalse();
  }

  @Test
  void limitsAreConfigurable() {
    SubjectLimits tight = new SubjectLimits(2, 8);
    assertThat(Subjects.validateSubject("a.b", tight)).isEqualTo("a.b");
    assertThatThrownBy(() -> Subjects.validateSubject("a.b.c", tight))
        .hasMessageContaining("more than 2 tokens");
    assertThatThrownBy(() -> Subjects.validateSubject("abcdefghi", tight))
        .hasMessageContaining("longer than 8 bytes");
    assertThatThrownBy(() -> new SubjectLimits(0, 1))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_CONFIG));
  }

  @Test
  void decodingRejectsMalformedUtf8() {
    ByteBuffer bad = ByteBuffer.wrap(new byte[] {'a', '.', (byte) 0xC3, (byte) 0x28});
    assertThatThrownBy(() -> Subjects.subjectFromUtf8(bad, L))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_SUBJECT);
              assertThat(e.getMessage()).contains("not valid UTF-8");
            });
    ByteBuffer good = ByteBuffer.wrap("a.ü".getBytes(StandardCharsets.UTF_8));
    assertThat(Subjects.subjectFromUtf8(good, L)).isEqualTo("a.ü");
  }

  @Test
  void errorMessagesKeepControlCharactersPrintable() {
    assertThatThrownBy(() -> Subjects.validateSubject("a\nb", L))
        .hasMessageContaining("a\\u000ab")
        .hasMessageNotContaining("\n");
  }

  @ParameterizedTest
  @CsvSource({
    "a.b.c, a.b.c, true",
    "a.*.c, a.b.c, true",
    "a.*, a.b.c, false",
    "a.>, a.b.c, true",
    "a.>, a, false",
    ">, a, true",
    "*, a, true",
    "*, a.b, false",
    "a.b, a.b.c, false",
    "a.b.c, a.b, false",
    "*.*.>, a.b, false",
    "*.*.>, a.b.c, true",
    "ab.c, a.c, false",
    "a.bc, a.b, false"
  })
  void matchesByTokens(String pattern, String subject, boolean expected) {
    assertThat(Subjects.matches(pattern, subject)).isEqualTo(expected);
  }
}
