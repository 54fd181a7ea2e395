package io.switchboard.services;

import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedBulkheadMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedRetryMetrics;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.services.codec.Codec;
import io.switchboard.services.codec.Codecs;
import java.lang.reflect.Proxy;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Typed services over a {@link SwitchboardClient}: {@link #client} makes a proxy that calls a
 * service interface, {@link #serve} answers its calls, {@link #events}/{@link #listen} publish and
 * receive one-way events (docs/services.md). Thread-safe.
 *
 * <p>Calls carry their deadline ({@code sb-deadline}) and codec ({@code content-type}); idempotent
 * methods are retried with jittered back-off within a retry budget; each method subject has a
 * circuit breaker and each service a bulkhead (Resilience4j). Everything is counted in the {@link
 * #meterRegistry()}.
 *
 * <p>Closing it ends every registration and its own threads; the client stays open (it is the
 * caller's).
 */
public final class Services implements AutoCloseable {
  /** Subject prefix of service calls: {@code svc.<service>.<method>}. */
  public static final String CALL_PREFIX = "svc.";

  /** Subject prefix of events: {@code evt.<service>.<method>}. */
  public static final String EVENT_PREFIX = "evt.";

  /** Streams a responder sends at once; more wait in a queue of {@link #MAX_QUEUED_STREAMS}. */
  static final int STREAM_THREADS = 4;

  /** Streams waiting for a sender thread; past it a streaming call is refused (SERVICE_FAILED). */
  static final int MAX_QUEUED_STREAMS = 1_024;

  private final SwitchboardClient client;
  private final Codecs codecs;
  private final Clock clock;
  private final MeterRegistry meters;
  private final ServiceOptions defaults;
  private final CircuitBreakerRegistry circuitBreakers = CircuitBreakerRegistry.ofDefaults();
  private final RetryRegistry retries = RetryRegistry.ofDefaults();
  private final BulkheadRegistry bulkheads = BulkheadRegistry.ofDefaults();
  private final ScheduledExecutorService timers;
  private final ThreadPoolExecutor workers;
  private final Set<Registration> registrations = ConcurrentHashMap.newKeySet();
  private final String inboxPrefix;
  private final AtomicInteger nextInbox = new AtomicInteger();

  private Services(Builder b) {
    this.client = b.client;
    this.codecs = b.codecs;
    this.clock = b.clock;
    this.meters = b.meters != null ? b.meters : new SimpleMeterRegistry();
    this.defaults = b.defaults;
    TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(circuitBreakers).bindTo(meters);
    TaggedRetryMetrics.ofRetryRegistry(retries).bindTo(meters);
    TaggedBulkheadMetrics.ofBulkheadRegistry(bulkheads).bindTo(meters);
    AtomicInteger threads = new AtomicInteger();
    ScheduledThreadPoolExecutor t =
        new ScheduledThreadPoolExecutor(
            1, r -> daemon(r, "sb-services-timer-" + threads.incrementAndGet()));
    t.setRemoveOnCancelPolicy(true);
    this.timers = t;
    this.workers =
        new ThreadPoolExecutor(
            STREAM_THREADS,
            STREAM_THREADS,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(MAX_QUEUED_STREAMS),
            r -> daemon(r, "sb-services-worker-" + threads.incrementAndGet()));
    workers.allowCoreThreadTimeOut(true);
    this.inboxPrefix =
        "_SVC." + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Starts building the services layer of {@code client}. */
  public static Builder builder(SwitchboardClient client) {
    return new Builder(client);
  }

  /** Builds a {@link Services}. Not thread-safe. */
  public static final class Builder {
    private final SwitchboardClient client;
    private Codecs codecs = Codecs.load();
    private Clock clock = Clock.SYSTEM;
    private MeterRegistry meters;
    private ServiceOptions defaults = ServiceOptions.defaults();

    private Builder(SwitchboardClient client) {
      this.client = Objects.requireNonNull(client, "client");
    }

    /** The codecs to use (default: every codec found on the class path, {@link Codecs#load()}). */
    public Builder codecs(Codecs value) {
      codecs = value;
      return this;
    }

    /** Adds (or replaces) one codec. */
    public Builder codec(Codec value) {
      codecs = codecs.with(value);
      return this;
    }

    /** The clock deadlines are read from (tests). */
    public Builder clock(Clock value) {
      clock = value;
      return this;
    }

    /** Where to count calls and resilience events (default: a private SimpleMeterRegistry). */
    public Builder meterRegistry(MeterRegistry value) {
      meters = value;
      return this;
    }

    /** Options of services called or served without their own. */
    public Builder defaults(ServiceOptions value) {
      defaults = value;
      return this;
    }

    public Services build() {
      return new Services(this);
    }
  }

  /** A proxy calling {@code type}'s methods on {@code svc.<name>.<method>}, with the defaults. */
  public <T> T client(Class<T> type) {
    return client(type, defaults);
  }

  /**
   * A proxy calling {@code type}'s methods with {@code options}. Its futures fail with a {@link
   * io.switchboard.client.SwitchboardClientException}: {@code DEADLINE_EXCEEDED}, {@code
   * CIRCUIT_OPEN}, {@code BULKHEAD_FULL}, {@code ENCODE_FAILED}, {@code DECODE_FAILED}, {@code
   * CONTENT_TYPE_MISMATCH}, {@code REPLY_STREAM_BROKEN}, {@code REPLY_STREAM_TOO_LONG}, the
   * client's own ({@code NO_RESPONDERS}, {@code CONNECTION_LOST}, ...), or whatever the responder
   * answered ({@code SERVICE_FAILED}, {@code SERVICE_UNAVAILABLE}, {@code UNKNOWN_SERVICE_METHOD},
   * {@code UNKNOWN_CONTENT_TYPE}, ...).
   *
   * @throws io.switchboard.client.SwitchboardClientException {@code INVALID_SERVICE_DEFINITION} or
   *     {@code UNKNOWN_CONTENT_TYPE}, at once
   */
  public <T> T client(Class<T> type, ServiceOptions options) {
    ServiceDescriptor d = ServiceDescriptor.of(type);
    Caller caller = new Caller(this, d, options, codecFor(d, options), CALL_PREFIX);
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, caller));
  }

  /**
   * Serves {@code impl} on {@code svc.<name>.*} in the options' queue group (default: the service's
   * name), so several instances share the calls. Blocks until the subscription is in place.
   */
  public <T> Registration serve(Class<T> type, T impl) {
    return serve(type, impl, defaults);
  }

  /** {@link #serve(Class, Object)} with {@code options}. */
  public <T> Registration serve(Class<T> type, T impl, ServiceOptions options) {
    ServiceDescriptor d = ServiceDescriptor.of(type);
    String group = options.queueGroup() != null ? options.queueGroup() : d.name();
    return track(new Responder(this, d, type.cast(impl), codecFor(d, options), CALL_PREFIX, group));
  }

  /**
   * A proxy publishing {@code type}'s one-way methods as events on {@code evt.<name>.<method>};
   * every listener gets each event.
   */
  public <T> T events(Class<T> type) {
    return events(type, defaults);
  }

  /** {@link #events(Class)} with {@code options} (its content type). */
  public <T> T events(Class<T> type, ServiceOptions options) {
    ServiceDescriptor d = oneWayOnly(type);
    Caller caller = new Caller(this, d, options, codecFor(d, options), EVENT_PREFIX);
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, caller));
  }

  /** Gets every event of {@code type} into {@code handler} (on the client's callback thread). */
  public <T> Registration listen(Class<T> type, T handler) {
    return listen(type, handler, defaults, null);
  }

  /**
   * {@link #listen(Class, Object)} with {@code options}; with a {@code queueGroup} each event goes
   * to one listener of the group.
   */
  public <T> Registration listen(
      Class<T> type, T handler, ServiceOptions options, String queueGroup) {
    ServiceDescriptor d = oneWayOnly(type);
    return track(
        new Responder(this, d, type.cast(handler), codecFor(d, options), EVENT_PREFIX, queueGroup));
  }

  private static ServiceDescriptor oneWayOnly(Class<?> type) {
    ServiceDescriptor d = ServiceDescriptor.of(type);
    for (ServiceDescriptor.MethodDescriptor m : d.methods().values()) {
      if (m.kind() != ServiceDescriptor.Kind.ONE_WAY) {
        throw Errors.of(
            ErrorCode.INVALID_SERVICE_DEFINITION,
            type.getName(),
            "event method " + m.name() + " must return void");
      }
    }
    return d;
  }

  private Registration track(Responder r) {
    registrations.add(r);
    return () -> {
      registrations.remove(r);
      r.close();
    };
  }

  /**
   * The options' codec, checked against every argument and result type of the service: a type the
   * codec cannot carry (a Java record for Protobuf) is refused now, not at the first call.
   */
  private Codec codecFor(ServiceDescriptor d, ServiceOptions options) {
    Codec c = codec(options);
    for (ServiceDescriptor.MethodDescriptor m : d.methods().values()) {
      for (java.lang.reflect.Type t : new java.lang.reflect.Type[] {m.argType(), m.resultType()}) {
        if (t != null && t != Void.class && !c.supports(t)) {
          throw Errors.of(
              ErrorCode.INVALID_SERVICE_DEFINITION,
              d.type().getName(),
              "method "
                  + m.name()
                  + " uses "
                  + t.getTypeName()
                  + ", which "
                  + c.contentType()
                  + " cannot carry");
        }
      }
    }
    return c;
  }

  private Codec codec(ServiceOptions options) {
    Codec c = codecs.get(options.contentType());
    if (c == null) {
      throw Errors.of(
          ErrorCode.UNKNOWN_CONTENT_TYPE,
          options.contentType(),
          "this client",
          codecs.contentTypes());
    }
    return c;
  }

  /** Where calls, served calls and resilience events are counted. */
  public MeterRegistry meterRegistry() {
    return meters;
  }

  /** The circuit breakers, one per method subject ({@code svc.<service>.<method>}). */
  public CircuitBreakerRegistry circuitBreakers() {
    return circuitBreakers;
  }

  SwitchboardClient client() {
    return client;
  }

  Codecs codecs() {
    return codecs;
  }

  Clock clock() {
    return clock;
  }

  RetryRegistry retries() {
    return retries;
  }

  BulkheadRegistry bulkheads() {
    return bulkheads;
  }

  ScheduledExecutorService timers() {
    return timers;
  }

  ThreadPoolExecutor workers() {
    return workers;
  }

  /** A fresh private subject for one reply stream. */
  String newInbox() {
    return inboxPrefix + "." + nextInbox.incrementAndGet();
  }

  @Override
  public void close() {
    for (Registration r : registrations) {
      r.close();
    }
    registrations.clear();
    timers.shutdownNow();
    workers.shutdownNow();
  }
}
