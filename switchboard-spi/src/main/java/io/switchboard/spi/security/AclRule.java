package io.switchboard.spi.security;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;
import io.switchboard.core.subject.Subjects;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * One authorization rule: {@code effect} {@code permissions} on {@code resource} for {@code
 * principal}. Immutable. A deny rule wins over any allow rule that matches the same request.
 *
 * @param id the rule's id (assigned when it is stored; empty before)
 * @param effect allow or deny
 * @param principal whom it applies to: a principal id ({@code user:alice}, {@code token:svc},
 *     {@code cert:CN=gw}, {@code anonymous}), every principal of a kind ({@code user:*}), or
 *     everyone ({@code *})
 * @param permissions what it allows or denies (at least one)
 * @param resource a subject pattern with {@code *} and {@code >}, matched against the permission's
 *     target ({@link Permission})
 */
public record AclRule(
    String id, Effect effect, String principal, Set<Permission> permissions, String resource) {

  /** Allow or deny. */
  public enum Effect {
    ALLOW,
    DENY;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Effect parse(String text) {
      return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "allow" -> ALLOW;
        case "deny" -> DENY;
        default ->
            throw SwitchboardException.of(
                ErrorCode.INVALID_ARGUMENT, "effect \"" + text + "\" is not allow or deny");
      };
    }
  }

  /**
   * Checks every field.
   *
   * @throws SwitchboardException {@code INVALID_ARGUMENT} or {@code INVALID_PATTERN}
   */
  public AclRule {
    Objects.requireNonNull(id, "id");
    if (effect == null) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a rule needs an effect");
    }
    if (permissions == null || permissions.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "a rule needs at least one permission");
    }
    permissions = Set.copyOf(EnumSet.copyOf(permissions));
    checkPrincipal(principal);
    if (resource == null) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a rule needs a resource");
    }
    Subjects.validatePattern(resource, SubjectLimits.DEFAULTS);
  }

  /** The same rule with another id. */
  public AclRule withId(String newId) {
    return new AclRule(newId, effect, principal, permissions, resource);
  }

  /** Whether this rule applies to {@code p}. */
  public boolean appliesTo(Principal p) {
    if (principal.equals("*")) {
      return true;
    }
    if (principal.endsWith(":*")) {
      return p.kind() != Principal.Kind.ANONYMOUS
          && principal.regionMatches(0, p.kind().prefix(), 0, principal.length() - 2)
          && principal.length() - 2 == p.kind().prefix().length();
    }
    return principal.equals(p.id());
  }

  private static void checkPrincipal(String principal) {
    if (principal == null || principal.isBlank()) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a rule needs a principal");
    }
    if (principal.equals("*") || principal.equals("anonymous")) {
      return;
    }
    int colon = principal.indexOf(':');
    String kind = colon < 0 ? principal : principal.substring(0, colon);
    boolean known = kind.equals("user") || kind.equals("token") || kind.equals("cert");
    if (colon < 1 || !known || colon == principal.length() - 1) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "principal \""
              + principal
              + "\" is not user:NAME, token:SUBJECT, cert:DN, KIND:*, anonymous or *");
    }
  }
}
