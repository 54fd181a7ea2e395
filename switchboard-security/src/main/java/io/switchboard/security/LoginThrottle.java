package io.switchboard.security;

import io.switchboard.core.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Slows down failed logins per source address and per user name, with bounded state. Thread-safe
 * (one lock; it is taken once per login).
 *
 * <p>Each key counts its recent failures; the n-th failure in a row makes the next answers for that
 * key wait {@code baseDelayMs × 2^(n-1)}, at most {@code maxDelayMs}. A key with no failure for
 * {@code forgetAfterMs} starts afresh. Each map keeps at most {@code maxEntries} keys, dropping the
 * least recently used, so an attacker cycling through addresses or names costs memory only up to
 * that bound (and loses the history of the oldest, which is the trade NATS and Kafka make too).
 */
final class LoginThrottle {
  private static final class Failures {
    int failures;
    long lastFailureMs;
  }

  private final Clock clock;
  private final long baseDelayMs;
  private final long maxDelayMs;
  private final long forgetAfterMs;
  private final Map<String, Failures> byAddress;
  private final Map<String, Failures> byUser;

  LoginThrottle(
      Clock clock, long baseDelayMs, long maxDelayMs, long forgetAfterMs, int maxEntries) {
    this.clock = clock;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.forgetAfterMs = forgetAfterMs;
    this.byAddress = lru(maxEntries);
    this.byUser = lru(maxEntries);
  }

  /** How long an answer to a login from {@code address} for {@code user} waits now. */
  synchronized long delayMs(String address, String user) {
    long now = clock.nowMs();
    return Math.max(delay(byAddress, address, now), delay(byUser, user, now));
  }

  /** Counts a failure; returns how long its answer waits (at least the base delay). */
  synchronized long failed(String address, String user) {
    long now = clock.nowMs();
    bump(byAddress, address, now);
    bump(byUser, user, now);
    return Math.max(baseDelayMs, delayMs(address, user));
  }

  /** A success clears the user's failures (not the address's). */
  synchronized void succeeded(String user) {
    if (user != null) {
      byUser.remove(user);
    }
  }

  synchronized int size() {
    return byAddress.size() + byUser.size();
  }

  private long delay(Map<String, Failures> map, String key, long now) {
    if (key == null) {
      return 0;
    }
    Failures e = map.get(key);
    if (e == null || e.failures == 0 || now - e.lastFailureMs > forgetAfterMs) {
      return 0;
    }
    int shift = Math.min(e.failures - 1, 30);
    return Math.min(maxDelayMs, baseDelayMs << shift);
  }

  private void bump(Map<String, Failures> map, String key, long now) {
    if (key == null) {
      return;
    }
    Failures e = map.computeIfAbsent(key, k -> new Failures());
    if (now - e.lastFailureMs > forgetAfterMs) {
      e.failures = 0;
    }
    e.failures = Math.min(e.failures + 1, 1_000);
    e.lastFailureMs = now;
  }

  private static Map<String, Failures> lru(int maxEntries) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Failures> eldest) {
        return size() > maxEntries;
      }
    };
  }
}
