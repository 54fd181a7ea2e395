package io.switchboard.security;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.core.Clock;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.QuotaLimits;
import io.switchboard.spi.security.QuotaMeter;
import io.switchboard.spi.security.QuotaMeter.Rate;
import io.switchboard.spi.security.Quotas;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The one quota engine: a {@link QuotaMeter} per principal, shared by all of its connections on
 * every front end. Thread-safe; every call is a short critical section on one principal's meter,
 * never blocking, so event loops call it.
 *
 * <p>Limits: a principal's stored quota, else the stored {@code default}, field by field over the
 * {@code quota.*} settings ({@link QuotaLimits#over}). Rates are token buckets holding one second's
 * worth, which may go into debt; the pause a charge asks for is the time to refill to zero, at most
 * {@link QuotaMeter#MAX_PAUSE_MS}.
 *
 * <p>Bounded state: at most {@link #MAX_PRINCIPALS} meters. A meter with no connection and no
 * consumer open, untouched for {@link #IDLE_EXPIRY_MS} (its buckets full again by then for any
 * pause it could have asked), is dropped by {@link #sweep}; when the map is full a sweep runs at
 * once, and if every meter is still in use the new principal gets a meter of its own that is not
 * kept (its connection and consumer counts then cover one connection only; that needs more than
 * {@link #MAX_PRINCIPALS} principals connected at once).
 */
final class QuotaEngine implements Quotas {
  /** Most principals whose usage is kept. */
  static final int MAX_PRINCIPALS = 10_000;

  /** A meter untouched this long, with nothing open, is dropped. */
  static final long IDLE_EXPIRY_MS = QuotaMeter.MAX_PAUSE_MS + 30_000;

  /** The stored quota every principal without one of its own gets. */
  static final String DEFAULT = "default";

  private final Clock clock;
  private final QuotaLimits settings;
  private final ConcurrentHashMap<String, Meter> meters = new ConcurrentHashMap<>();
  private volatile Map<String, QuotaLimits> stored = Map.of();

  private final LongAdder[] throttled = adders(Rate.values().length);
  private final LongAdder[] throttledMs = adders(Rate.values().length);
  private final LongAdder[] refusedRate = adders(Rate.values().length);
  private final LongAdder refusedConnections = new LongAdder();
  private final LongAdder refusedConsumers = new LongAdder();
  private final LongAdder unkept = new LongAdder();

  QuotaEngine(Clock clock, QuotaLimits settings) {
    this.clock = clock;
    this.settings = settings;
  }

  /** Applies the stored quotas: every meter, open connections' included, is held to them now. */
  void update(Map<String, QuotaLimits> quotas) {
    stored = Map.copyOf(quotas);
    for (Map.Entry<String, Meter> e : meters.entrySet()) {
      e.getValue().limits(limitsOf(e.getKey()));
    }
  }

  /** The limits in force for principal id {@code id}. */
  QuotaLimits limitsOf(String id) {
    Map<String, QuotaLimits> s = stored;
    QuotaLimits base = s.getOrDefault(DEFAULT, QuotaLimits.INHERIT_ALL).over(settings);
    return s.getOrDefault(id, QuotaLimits.INHERIT_ALL).over(base);
  }

  @Override
  public QuotaMeter meter(Principal principal) {
    String id = principal.id();
    Meter m = meters.get(id);
    if (m != null) {
      return m;
    }
    if (meters.size() >= MAX_PRINCIPALS) {
      sweep();
      if (meters.size() >= MAX_PRINCIPALS) {
        unkept.increment();
        return new Meter(limitsOf(id));
      }
    }
    return meters.computeIfAbsent(id, k -> new Meter(limitsOf(k)));
  }

  /** Drops the meters of principals with nothing open and no recent use. */
  void sweep() {
    long now = clock.nanoTime();
    meters.entrySet().removeIf(e -> e.getValue().expired(now));
  }

  /** Meters kept now. */
  int size() {
    return meters.size();
  }

  /** Registers the quota meters: throttles and refusals by kind, kept principals. */
  void bindMeters(MeterRegistry registry) {
    for (Rate r : Rate.values()) {
      FunctionCounter.builder("switchboard.quota.throttled", throttled[r.ordinal()], LongAdder::sum)
          .description("Charges past a rate quota that slowed the client down")
          .tag("quota", r.wireName())
          .register(registry);
      FunctionCounter.builder(
              "switchboard.quota.throttled.ms", throttledMs[r.ordinal()], LongAdder::sum)
          .description("Milliseconds of pause rate quotas asked for")
          .tag("quota", r.wireName())
          .register(registry);
      FunctionCounter.builder("switchboard.quota.refused", refusedRate[r.ordinal()], LongAdder::sum)
          .description("Operations refused by a quota")
          .tag("quota", r.wireName())
          .register(registry);
    }
    FunctionCounter.builder("switchboard.quota.refused", refusedConnections, LongAdder::sum)
        .description("Operations refused by a quota")
        .tag("quota", "connections")
        .register(registry);
    FunctionCounter.builder("switchboard.quota.refused", refusedConsumers, LongAdder::sum)
        .description("Operations refused by a quota")
        .tag("quota", "consumers")
        .register(registry);
    Gauge.builder("switchboard.quota.principals", meters, Map::size)
        .description("Principals whose quota usage is kept")
        .register(registry);
    FunctionCounter.builder("switchboard.quota.unkept", unkept, LongAdder::sum)
        .description("Meters handed out unkept because the quota state was full")
        .register(registry);
  }

  long throttled(Rate r) {
    return throttled[r.ordinal()].sum();
  }

  long refused(Rate r) {
    return refusedRate[r.ordinal()].sum();
  }

  long refusedConnections() {
    return refusedConnections.sum();
  }

  long refusedConsumers() {
    return refusedConsumers.sum();
  }

  private static LongAdder[] adders(int n) {
    LongAdder[] a = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }

  /** One principal's buckets and counts; every method holds its lock briefly. */
  final class Meter implements QuotaMeter {
    private QuotaLimits limits;
    private final double[] tokens = new double[Rate.values().length];
    private final long[] refilledAt = new long[Rate.values().length];
    private int connections;
    private int consumers;
    private long touched;

    Meter(QuotaLimits limits) {
      long now = clock.nanoTime();
      this.touched = now;
      this.limits = limits;
      for (Rate r : Rate.values()) {
        tokens[r.ordinal()] = rateOf(limits, r);
        refilledAt[r.ordinal()] = now;
      }
    }

    synchronized void limits(QuotaLimits next) {
      long now = clock.nanoTime();
      for (Rate r : Rate.values()) {
        refill(r, now);
      }
      QuotaLimits before = limits;
      limits = next;
      for (Rate r : Rate.values()) {
        int i = r.ordinal();
        tokens[i] = rateOf(before, r) == 0 ? rateOf(next, r) : Math.min(tokens[i], rateOf(next, r));
      }
    }

    synchronized boolean expired(long now) {
      return connections == 0 && consumers == 0 && now - touched > IDLE_EXPIRY_MS * 1_000_000;
    }

    @Override
    public synchronized long publish(int messages, long bytes) {
      long now = clock.nanoTime();
      return Math.max(
          charge(Rate.PUBLISH_MESSAGES, messages, now), charge(Rate.PUBLISH_BYTES, bytes, now));
    }

    @Override
    public synchronized long consume(long bytes) {
      return charge(Rate.CONSUME_BYTES, bytes, clock.nanoTime());
    }

    @Override
    public synchronized long request() {
      return charge(Rate.REQUESTS, 1, clock.nanoTime());
    }

    @Override
    public synchronized long wait(Rate rate) {
      long now = clock.nanoTime();
      touched = now;
      long w = pauseOf(rate, now);
      if (w > 0) {
        refusedRate[rate.ordinal()].increment();
      }
      return w;
    }

    @Override
    public synchronized long limit(Rate rate) {
      return rateOf(limits, rate);
    }

    @Override
    public synchronized boolean openConnection() {
      touched = clock.nanoTime();
      if (limits.connections() > 0 && connections >= limits.connections()) {
        refusedConnections.increment();
        return false;
      }
      connections++;
      return true;
    }

    @Override
    public synchronized void closeConnection() {
      touched = clock.nanoTime();
      if (connections > 0) {
        connections--;
      }
    }

    @Override
    public synchronized boolean openConsumer() {
      touched = clock.nanoTime();
      if (limits.consumers() > 0 && consumers >= limits.consumers()) {
        refusedConsumers.increment();
        return false;
      }
      consumers++;
      return true;
    }

    @Override
    public synchronized void closeConsumer() {
      touched = clock.nanoTime();
      if (consumers > 0) {
        consumers--;
      }
    }

    @Override
    public synchronized QuotaLimits limits() {
      return limits;
    }

    @Override
    public synchronized int connections() {
      return connections;
    }

    @Override
    public synchronized int consumers() {
      return consumers;
    }

    private long charge(Rate r, long amount, long now) {
      touched = now;
      long rate = rateOf(limits, r);
      if (rate == 0 || amount <= 0) {
        return 0;
      }
      refill(r, now);
      // The debt is bounded too: a huge single charge asks for the longest pause, not for hours.
      tokens[r.ordinal()] =
          Math.max(tokens[r.ordinal()] - amount, -rate * (QuotaMeter.MAX_PAUSE_MS / 1000.0));
      long pause = pauseOf(r, now);
      if (pause > 0) {
        throttled[r.ordinal()].increment();
        throttledMs[r.ordinal()].add(pause);
      }
      return pause;
    }

    private long pauseOf(Rate r, long now) {
      long rate = rateOf(limits, r);
      if (rate == 0) {
        return 0;
      }
      refill(r, now);
      double t = tokens[r.ordinal()];
      if (t >= 0) {
        return 0;
      }
      return Math.min(QuotaMeter.MAX_PAUSE_MS, (long) Math.ceil(-t * 1000.0 / rate));
    }

    private void refill(Rate r, long now) {
      int i = r.ordinal();
      long rate = rateOf(limits, r);
      long elapsed = now - refilledAt[i];
      refilledAt[i] = now;
      if (rate == 0 || elapsed <= 0) {
        return;
      }
      tokens[i] = Math.min(rate, tokens[i] + elapsed / 1e9 * rate);
    }
  }

  private static long rateOf(QuotaLimits l, Rate r) {
    return switch (r) {
      case PUBLISH_BYTES -> l.publishBytes();
      case PUBLISH_MESSAGES -> l.publishMessages();
      case CONSUME_BYTES -> l.consumeBytes();
      case REQUESTS -> l.requests();
    };
  }
}
