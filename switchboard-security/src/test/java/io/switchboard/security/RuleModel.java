package io.switchboard.security;

import io.switchboard.core.subject.Subjects;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import java.util.ArrayList;
import java.util.List;

/**
 * The reference model of the rules: the plainest reading of "deny wins, then allow, then the
 * default", over concrete subjects only, with the principal matched by string comparison.
 */
final class RuleModel {
  static final List<String> TOKENS = List.of("a", "b", "c");

  static boolean allowed(
      List<AclRule> rules, boolean defaultAllow, Principal p, Permission perm, String subject) {
    boolean allow = false;
    for (AclRule r : rules) {
      boolean who =
          r.principal().equals("*")
              || r.principal().equals(p.id())
              || (r.principal().equals(p.kind().prefix() + ":*")
                  && p.kind() != Principal.Kind.ANONYMOUS);
      if (!who || !r.permissions().contains(perm) || !Subjects.matches(r.resource(), subject)) {
        continue;
      }
      if (r.effect() == AclRule.Effect.DENY) {
        return false;
      }
      allow = true;
    }
    return allow || defaultAllow;
  }

  /** Every subject of 1 to {@code depth} tokens over {@link #TOKENS}. */
  static List<String> subjects(int depth) {
    List<String> out = new ArrayList<>();
    List<String> level = new ArrayList<>(TOKENS);
    for (int d = 1; d <= depth; d++) {
      out.addAll(level);
      List<String> next = new ArrayList<>();
      for (String s : level) {
        for (String t : TOKENS) {
          next.add(s + "." + t);
        }
      }
      level = next;
    }
    return out;
  }
}
