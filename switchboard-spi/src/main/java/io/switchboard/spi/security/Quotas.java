package io.switchboard.spi.security;

/**
 * The quota engine as front ends see it ({@link Security#quotas()}): one shared {@link QuotaMeter}
 * per principal. Thread-safe and non-blocking.
 */
@FunctionalInterface
public interface Quotas {

  /** The meter of {@code principal}, shared by all of its connections. */
  QuotaMeter meter(Principal principal);

  /** No quotas. */
  Quotas NONE = p -> QuotaMeter.UNLIMITED;
}
