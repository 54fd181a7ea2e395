package io.switchboard.spi.security;

import java.util.List;

/**
 * Users and rules, for the admin API and the command line. Thread-safe. Every change is durable
 * (written to the data directory, crash-safe) before the call returns, so these calls block: call
 * them from admin threads, never from an event loop. Every change is written to the audit log.
 */
public interface SecurityAdmin {

  /** User names, sorted. */
  List<String> users();

  /**
   * Adds a user with SCRAM-SHA-256 and SCRAM-SHA-512 credentials for {@code password}.
   *
   * @throws io.switchboard.core.SwitchboardException {@code USER_EXISTS}, {@code INVALID_ARGUMENT}
   */
  void addUser(String name, String password, String actor);

  /**
   * Replaces a user's password.
   *
   * @throws io.switchboard.core.SwitchboardException {@code USER_NOT_FOUND}
   */
  void setPassword(String name, String password, String actor);

  /**
   * Removes a user; its open connections lose their access at their next check.
   *
   * @throws io.switchboard.core.SwitchboardException {@code USER_NOT_FOUND}
   */
  void removeUser(String name, String actor);

  /** The rules, in the order they were added. */
  List<AclRule> rules();

  /**
   * Adds a rule (its id is assigned here).
   *
   * @return the rule as stored, with its id
   */
  AclRule addRule(AclRule rule, String actor);

  /**
   * Removes a rule.
   *
   * @throws io.switchboard.core.SwitchboardException {@code ACL_RULE_NOT_FOUND}
   */
  void removeRule(String id, String actor);

  /** Stored quotas by principal id ({@code default} is the one for everyone without their own). */
  default java.util.Map<String, QuotaLimits> storedQuotas() {
    return java.util.Map.of();
  }

  /**
   * Sets the quota of {@code principal} (a principal id, or {@code default} for everyone without
   * one); its {@link QuotaLimits#INHERIT} fields take the {@code quota.*} settings. Open
   * connections are held to it at once.
   */
  default void setQuota(String principal, QuotaLimits limits, String actor) {
    throw io.switchboard.core.SwitchboardException.of(
        io.switchboard.core.ErrorCode.INVALID_ARGUMENT,
        "this server runs without a security store");
  }

  /**
   * Removes the quota of {@code principal}.
   *
   * @throws io.switchboard.core.SwitchboardException {@code QUOTA_NOT_FOUND}
   */
  default void removeQuota(String principal, String actor) {
    throw io.switchboard.core.SwitchboardException.of(
        io.switchboard.core.ErrorCode.QUOTA_NOT_FOUND, principal);
  }
}
