package io.switchboard.spi.security;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.HashMap;

/**
 * One connection's view of the decision point: its principal and a cache of the decisions it has
 * asked for. Confined to one connection (its event loop); not thread-safe.
 *
 * <p>The cache holds at most {@link #MAX_CACHED} decisions (it is emptied when full, so a client
 * publishing to ever new subjects costs a rule evaluation per publish, never memory), and is
 * emptied whenever the authorizer's {@link Authorizer#version()} moved: rules changed or a user was
 * removed, and the connection sees it at its next check, not at reconnect.
 */
public final class Access {
  /** Decisions cached per connection; a few hundred subjects cover most clients. */
  public static final int MAX_CACHED = 512;

  private final Authorizer authorizer;
  private final Principal principal;
  private final QuotaMeter quota;
  private boolean connectionHeld;
  private int consumersHeld;
  private final HashMap<String, Decision>[] cache;
  private long version;
  private int size;

  public Access(Authorizer authorizer, Principal principal) {
    this(authorizer, principal, QuotaMeter.UNLIMITED);
  }

  /** A connection's view, metered against {@code quota} (the principal's shared meter). */
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Access(Authorizer authorizer, Principal principal, QuotaMeter quota) {
    this.authorizer = authorizer;
    this.principal = principal;
    this.quota = quota;
    this.cache = new HashMap[Permission.values().length];
    for (int i = 0; i < cache.length; i++) {
      cache[i] = new HashMap<>();
    }
    this.version = authorizer.version();
  }

  /** Everything allowed, as anonymous: for tests and servers without security. */
  public static Access allowAll() {
    return new Access(Authorizer.ALLOW_ALL, Principal.ANONYMOUS);
  }

  public Principal principal() {
    return principal;
  }

  /** The authorizer's version now: it moves whenever rules change or a user is removed. */
  public long rulesVersion() {
    return authorizer.version();
  }

  /** The decision for {@code permission} on {@code target}, from the cache when still valid. */
  public Decision decide(Permission permission, String target) {
    long v = authorizer.version();
    if (v != version) {
      clear();
      version = v;
    }
    HashMap<String, Decision> map = cache[permission.ordinal()];
    Decision d = map.get(target);
    if (d == null) {
      d = authorizer.decide(principal, permission, target);
      if (size >= MAX_CACHED) {
        clear();
      }
      map.put(target, d);
      size++;
    }
    return d;
  }

  /** Whether {@code permission} on the literal {@code target} is allowed. */
  public boolean allows(Permission permission, String target) {
    return decide(permission, target) == Decision.ALLOW;
  }

  /**
   * Throws unless {@code permission} on {@code target} is allowed.
   *
   * @throws SwitchboardException {@link ErrorCode#PERMISSION_DENIED}
   */
  public void check(Permission permission, String target) {
    if (!allows(permission, target)) {
      throw denied(permission, target);
    }
  }

  /** Counts {@code messages} a read skipped for their subject ({@link StreamReads}). */
  public void skipped(long messages) {
    authorizer.skipped(messages);
  }

  /** The refusal of {@code permission} on {@code target}, as each front end reports it. */
  public SwitchboardException denied(Permission permission, String target) {
    return SwitchboardException.of(
        ErrorCode.PERMISSION_DENIED, principal.id(), permission.wireName(), target);
  }

  // ------------------------------------------------------------------ quotas

  /** The principal's quota meter (shared by its connections). */
  public QuotaMeter quota() {
    return quota;
  }

  /**
   * Counts this connection against the principal's connection quota; call once, when it is
   * authenticated, and {@link #closeConnection} when it ends.
   *
   * @throws SwitchboardException {@link ErrorCode#QUOTA_CONNECTIONS}
   */
  public void openConnection() {
    if (connectionHeld) {
      return;
    }
    if (!quota.openConnection()) {
      throw SwitchboardException.of(
          ErrorCode.QUOTA_CONNECTIONS, principal.id(), quota.limits().connections());
    }
    connectionHeld = true;
  }

  /**
   * The connection ended: gives back its connection and any subscriptions or consumers it still
   * held. Idempotent.
   */
  public void closeConnection() {
    if (connectionHeld) {
      connectionHeld = false;
      quota.closeConnection();
    }
    while (consumersHeld > 0) {
      consumersHeld--;
      quota.closeConsumer();
    }
  }

  /**
   * Counts a new subscription or consumer against the principal's quota; {@link #closeConsumer}
   * when it ends (or {@link #closeConnection} gives back what is left).
   *
   * @throws SwitchboardException {@link ErrorCode#QUOTA_CONSUMERS}
   */
  public void openConsumer() {
    if (!quota.openConsumer()) {
      throw SwitchboardException.of(
          ErrorCode.QUOTA_CONSUMERS, principal.id(), quota.limits().consumers());
    }
    consumersHeld++;
  }

  /** One subscription or consumer of this connection ended. */
  public void closeConsumer() {
    if (consumersHeld > 0) {
      consumersHeld--;
      quota.closeConsumer();
    }
  }

  /**
   * Whether the principal holds its quota of subscriptions and consumers: a new one would be
   * refused. Counts the refusal when it says so.
   */
  public boolean consumerQuotaFull() {
    long max = quota.limits().consumers();
    if (max > 0 && quota.consumers() >= max) {
      return !quota.openConsumer() || releaseRace();
    }
    return false;
  }

  private boolean releaseRace() {
    quota.closeConsumer(); // a place was freed meanwhile: give back the one just taken
    return false;
  }

  /**
   * For front ends that keep their own subscription table (MQTT): makes this connection hold {@code
   * n} places against the quota (check {@link #consumerQuotaFull} before adding one); places the
   * quota has no room for are taken at the next call.
   */
  public void holdConsumers(int n) {
    while (consumersHeld > n) {
      closeConsumer();
    }
    while (consumersHeld < n && quota.openConsumer()) {
      consumersHeld++;
    }
  }

  /** Subscriptions and consumers this connection holds against the quota. */
  public int consumersHeld() {
    return consumersHeld;
  }

  /**
   * For front ends that refuse rather than slow down (HTTP): throws while {@code rate}'s bucket is
   * in debt.
   *
   * @throws SwitchboardException {@link ErrorCode#QUOTA_RATE}, whose retry time is the wait
   */
  public void checkRate(QuotaMeter.Rate rate) {
    long wait = quota.wait(rate);
    if (wait > 0) {
      throw rateRefusal(rate, wait);
    }
  }

  /** The refusal of a charge to {@code rate} for {@code waitMs} more milliseconds. */
  public SwitchboardException rateRefusal(QuotaMeter.Rate rate, long waitMs) {
    return SwitchboardException.of(
        ErrorCode.QUOTA_RATE, principal.id(), rate.wireName(), quota.limit(rate), waitMs);
  }

  private void clear() {
    for (HashMap<String, Decision> m : cache) {
      m.clear();
    }
    size = 0;
  }
}
