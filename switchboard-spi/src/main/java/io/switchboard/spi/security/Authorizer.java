package io.switchboard.spi.security;

/**
 * The one decision point every front end calls on publish, subscribe, consume, request, reply and
 * admin. Thread-safe and non-blocking (an in-memory rule set), so it is called on event loops.
 *
 * <p>Front ends keep a per-connection {@link Access}, which caches decisions and drops them when
 * {@link #version()} changes: a rule added or removed, or a user removed, takes effect on open
 * connections at their next check.
 */
public interface Authorizer {

  /**
   * Decides whether {@code principal} may do {@code permission} on {@code target} (see {@link
   * Permission} for what a target is). A pattern target (only for {@link Permission#SUBSCRIBE}) may
   * get {@link Decision#FILTER}; a literal target gets {@link Decision#ALLOW} or {@link
   * Decision#DENY}.
   */
  Decision decide(Principal principal, Permission permission, String target);

  /**
   * Changes whenever a decision may change: a rule added or removed, a user removed or re-created.
   * Read by {@link Access} before each cached answer.
   */
  long version();

  /**
   * Counts {@code messages} a whole-stream read skipped because their subject may not be read by
   * the reader ({@link StreamReads}); shown in /metrics. Thread-safe.
   */
  default void skipped(long messages) {}

  /** Allows everything: a server without rules and without required authentication. */
  Authorizer ALLOW_ALL =
      new Authorizer() {
        @Override
        public Decision decide(Principal principal, Permission permission, String target) {
          return Decision.ALLOW;
        }

        @Override
        public long version() {
          return 0;
        }
      };
}
