package io.switchboard.security;

import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import java.util.List;

/**
 * The rules and the default, evaluated. Immutable, thread-safe.
 *
 * <p>For a request (principal, permission, target): the rules that apply are those naming the
 * principal (or everyone, or its kind) and the permission. A deny rule whose resource matches the
 * target refuses it, whatever allows it (deny wins). Otherwise an allow rule that matches allows
 * it, and with no matching rule the default decides.
 *
 * <p>A pattern target (a subscription with wildcards) is decided for all the subjects it matches at
 * once: {@link Decision#DENY} when a deny rule covers the whole pattern, or when nothing could be
 * allowed (no allow rule overlaps it and the default is deny); {@link Decision#ALLOW} when no deny
 * rule overlaps it and the default or a single allow rule covers it; otherwise {@link
 * Decision#FILTER}: the subscription is accepted and each message's own subject is decided before
 * delivery. (An allow by several rules that together cover a pattern is FILTER, not ALLOW: still
 * correct, one more check per message.)
 *
 * <p>Cost: linear in the rules that apply; per-connection caches ({@link
 * io.switchboard.spi.security.Access}) make repeated checks a map look-up.
 */
record RuleSet(List<AclRule> rules, boolean defaultAllow) {

  RuleSet {
    rules = List.copyOf(rules);
  }

  Decision decide(Principal principal, Permission permission, String target) {
    boolean allowCovers = false;
    boolean allowOverlaps = false;
    boolean denyOverlaps = false;
    for (AclRule r : rules) {
      if (!r.permissions().contains(permission) || !r.appliesTo(principal)) {
        continue;
      }
      if (r.effect() == AclRule.Effect.DENY) {
        if (Patterns.covers(r.resource(), target)) {
          return Decision.DENY;
        }
        denyOverlaps |= Patterns.overlaps(r.resource(), target);
      } else if (Patterns.covers(r.resource(), target)) {
        allowCovers = true;
      } else {
        allowOverlaps |= Patterns.overlaps(r.resource(), target);
      }
    }
    boolean someAllowed = defaultAllow || allowCovers || allowOverlaps;
    if (!someAllowed) {
      return Decision.DENY;
    }
    if (!denyOverlaps && (defaultAllow || allowCovers)) {
      return Decision.ALLOW;
    }
    return Decision.FILTER;
  }
}
