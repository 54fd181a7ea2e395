package io.switchboard.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.subject.Subjects;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The rule engine against {@link RuleModel}: random rule sets, random principals, permissions and
 * targets. Literal targets must get exactly the model's answer; pattern targets must be sound: an
 * ALLOW only when the model allows every subject the pattern matches, a DENY only when it denies
 * every one, and FILTER otherwise (checked per subject, which is again the literal case).
 */
class RuleSetPropertiesTest {
  static final List<String> SUBJECTS = RuleModel.subjects(4);
  static final List<Principal> PRINCIPALS =
      List.of(
          Principal.user("alice"),
          Principal.user("bob"),
          Principal.token("svc"),
          Principal.certificate("CN=gw"),
          Principal.ANONYMOUS);

  @Property(tries = 400)
  void literalTargetsGetTheModelsAnswer(
      @ForAll("rules") List<AclRule> rules,
      @ForAll boolean defaultAllow,
      @ForAll("principals") Principal p,
      @ForAll Permission perm) {
    RuleSet set = new RuleSet(rules, defaultAllow);
    for (String s : SUBJECTS) {
      boolean model = RuleModel.allowed(rules, defaultAllow, p, perm, s);
      assertThat(set.decide(p, perm, s))
          .as("%s %s %s under %s default %s", p, perm, s, rules, defaultAllow)
          .isEqualTo(model ? Decision.ALLOW : Decision.DENY);
    }
  }

  @Property(tries = 400)
  void patternTargetsAreSound(
      @ForAll("rules") List<AclRule> rules,
      @ForAll boolean defaultAllow,
      @ForAll("principals") Principal p,
      @ForAll("patterns") String pattern) {
    RuleSet set = new RuleSet(rules, defaultAllow);
    Decision d = set.decide(p, Permission.SUBSCRIBE, pattern);
    boolean all = true;
    boolean none = true;
    for (String s : SUBJECTS) {
      if (!Subjects.matches(pattern, s)) {
        continue;
      }
      boolean ok = RuleModel.allowed(rules, defaultAllow, p, Permission.SUBSCRIBE, s);
      all &= ok;
      none &= !ok;
      if (d == Decision.FILTER) {
        assertThat(set.decide(p, Permission.SUBSCRIBE, s))
            .isEqualTo(ok ? Decision.ALLOW : Decision.DENY);
      }
    }
    String why = p + " subscribe " + pattern + " under " + rules + " default " + defaultAllow;
    if (d == Decision.ALLOW) {
      assertThat(all).as("ALLOW but the model denies a subject: " + why).isTrue();
    }
    if (d == Decision.DENY) {
      assertThat(none).as("DENY but the model allows a subject: " + why).isTrue();
    }
    if (none
        && rules.stream().noneMatch(r -> r.effect() == AclRule.Effect.ALLOW)
        && !defaultAllow) {
      assertThat(d).isEqualTo(Decision.DENY);
    }
  }

  @Provide
  Arbitrary<Principal> principals() {
    return Arbitraries.of(PRINCIPALS);
  }

  @Provide
  Arbitrary<String> patterns() {
    Arbitrary<String> token = Arbitraries.of("a", "b", "c", "*");
    return Combinators.combine(token.list().ofMinSize(0).ofMaxSize(3), Arbitraries.of(true, false))
        .as(
            (tokens, rest) -> {
              List<String> t = new ArrayList<>(tokens);
              if (rest || t.isEmpty()) {
                t.add(t.isEmpty() && !rest ? "a" : ">");
              }
              return String.join(".", t);
            });
  }

  @Provide
  Arbitrary<List<AclRule>> rules() {
    Arbitrary<AclRule> rule =
        Combinators.combine(
                Arbitraries.of(AclRule.Effect.values()),
                Arbitraries.of("*", "user:*", "user:alice", "user:bob", "token:svc", "anonymous"),
                Arbitraries.of(Permission.values()).set().ofMinSize(1).ofMaxSize(3),
                patterns())
            .as(
                (effect, who, perms, resource) ->
                    new AclRule("", effect, who, EnumSet.copyOf(perms), resource));
    return rule.list().ofMaxSize(6);
  }

  @Property(tries = 50)
  void coversAgreesWithEnumeration(
      @ForAll("patterns") String outer, @ForAll("patterns") String inner) {
    boolean enumerated = true;
    boolean any = false;
    for (String s : SUBJECTS) {
      if (Subjects.matches(inner, s)) {
        any = true;
        enumerated &= Subjects.matches(outer, s);
      }
    }
    if (Patterns.covers(outer, inner)) {
      assertThat(enumerated).as(outer + " covers " + inner).isTrue();
    } else if (any && !inner.endsWith(">")) {
      // without '>' in inner the enumeration is exhaustive, so it must agree exactly
      assertThat(enumerated).as(outer + " does not cover " + inner).isFalse();
    }
  }
}
