package io.switchboard.spi.security;

/**
 * The answer of the decision point ({@link Authorizer}).
 *
 * <p>For a literal target the answer is {@link #ALLOW} or {@link #DENY}. A subscription pattern may
 * also get {@link #FILTER}: some subjects it matches are allowed and some are not (a deny rule
 * overlaps the pattern, or only part of it is allowed); the subscription is accepted and each
 * message is checked on its own subject before it is delivered, so it never receives what its
 * principal may not read.
 */
public enum Decision {
  ALLOW,
  DENY,
  FILTER;

  /** Whether at least part of the target is allowed. */
  public boolean admits() {
    return this != DENY;
  }
}
