package io.switchboard.services;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCategory;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.services.ServiceDescriptor.Kind;
import io.switchboard.services.ServiceDescriptor.MethodDescriptor;
import io.switchboard.services.codec.Codec;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy behind {@link Services#client} and {@link Services#events}: turns a method call into a
 * request (or a publish), with deadline, retries, circuit breaker and bulkhead. Thread-safe.
 *
 * <p>Order of the guards, outermost first: retry (idempotent methods only), bulkhead, circuit
 * breaker, deadline. A refused call ({@code BULKHEAD_FULL}, {@code CIRCUIT_OPEN}) is not retried:
 * both mean "back off", and retrying would defeat them.
 */
final class Caller implements InvocationHandler {
  private static final Logger LOG = LoggerFactory.getLogger(Caller.class);

  private final Services services;
  private final ServiceDescriptor service;
  private final ServiceOptions options;
  private final Codec codec;
  private final String prefix;
  private final SwitchboardClient client;
  private final Clock clock;
  private final Bulkhead bulkhead;
  private final RetryBudget budget;
  private final CircuitBreakerConfig circuitConfig;
  private final RetryConfig retryConfig;
  private final Map<String, CircuitBreaker> breakers = new ConcurrentHashMap<>();
  private final Map<String, Retry> retries = new ConcurrentHashMap<>();
  private final Counter throttled;

  Caller(
      Services services,
      ServiceDescriptor service,
      ServiceOptions options,
      Codec codec,
      String prefix) {
    this.services = services;
    this.service = service;
    this.options = options;
    this.codec = codec;
    this.prefix = prefix;
    this.client = services.client();
    this.clock = services.clock();
    this.bulkhead =
        services
            .bulkheads()
            .bulkhead(
                prefix + service.name(),
                BulkheadConfig.custom()
                    .maxConcurrentCalls(options.maxConcurrentCalls())
                    .maxWaitDuration(Duration.ZERO)
                    .build());
    this.budget = new RetryBudget(options.retryBudgetTokens(), options.retryBudgetRatio());
    this.circuitConfig =
        CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .slidingWindowSize(options.circuitWindow())
            .minimumNumberOfCalls(options.circuitMinimumCalls())
            .failureRateThreshold(options.circuitFailureRatePercent())
            .waitDurationInOpenState(Duration.ofMillis(options.circuitOpenMs()))
            .permittedNumberOfCallsInHalfOpenState(options.circuitHalfOpenCalls())
            .recordException(Caller::countsAgainstCircuit)
            .build();
    this.retryConfig =
        RetryConfig.custom()
            .maxAttempts(options.maxAttempts())
            .intervalFunction(
                IntervalFunction.ofExponentialRandomBackoff(
                    Duration.ofMillis(options.initialBackoffMs()),
                    2.0,
                    0.5,
                    Duration.ofMillis(options.maxBackoffMs())))
            .retryOnException(this::mayRetry)
            .build();
    this.throttled =
        Counter.builder("switchboard.services.retries.throttled")
            .description("retries not made because the retry budget was spent")
            .tag("service", service.name())
            .register(services.meterRegistry());
  }

  /**
   * Failures that say the service is unwell: it did not answer in time, is not there, or failed. A
   * caller's own mistake (a codec mismatch, an undecodable argument) does not open the circuit.
   */
  static boolean countsAgainstCircuit(Throwable t) {
    ErrorCode c = Errors.codeOf(t);
    if (c == null) {
      return !(Errors.unwrap(t) instanceof SwitchboardClientException);
    }
    return c.category() == ErrorCategory.RETRIABLE || c.category() == ErrorCategory.SERVER;
  }

  private boolean mayRetry(Throwable t) {
    ErrorCode c = Errors.codeOf(t);
    if (c == null
        || c.category() != ErrorCategory.RETRIABLE
        || c == ErrorCode.CIRCUIT_OPEN
        || c == ErrorCode.BULKHEAD_FULL
        || c == ErrorCode.DEADLINE_EXCEEDED) {
      return false;
    }
    if (budget.onFailureMayRetry()) {
      return true;
    }
    throttled.increment();
    return false;
  }

  private CircuitBreaker breaker(String subject) {
    return breakers.computeIfAbsent(
        subject, s -> services.circuitBreakers().circuitBreaker(s, circuitConfig));
  }

  @Override
  public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
    if (method.isDefault()) {
      // A default method is the interface's own code (often a convenience over the calls).
      return InvocationHandler.invokeDefault(proxy, method, args);
    }
    if (method.getDeclaringClass() == Object.class) {
      switch (method.getName()) {
        case "equals":
          return proxy == args[0];
        case "hashCode":
          return System.identityHashCode(proxy);
        default:
          return prefix + service.name() + " (a Switchboard service proxy)";
      }
    }
    MethodDescriptor m = service.method(method.getName());
    Object arg = args == null || args.length == 0 ? null : args[0];
    String subject = prefix + service.name() + "." + m.name();
    if (m.kind() == Kind.ONE_WAY) {
      publish(m, subject, arg);
      return null;
    }
    if (m.kind() == Kind.STREAM) {
      return ReplyStream.remote(
          action -> stream(m, subject, arg, action), options.maxStreamItems());
    }
    return call(m, subject, arg);
  }

  // ------------------------------------------------------------------ one-way

  private void publish(MethodDescriptor m, String subject, Object arg) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
    byte[] payload = Coding.encode(codec, arg, headers);
    PublishBuilder p = PublishBuilder.to(subject, payload);
    headers.forEach(p::header);
    client
        .publishAsync(p)
        .whenComplete(
            (ack, err) -> {
              count(m, err);
              if (err != null) {
                LOG.warn(
                    "SB-SVC-0001 one-way {} failed: {}", subject, Errors.unwrap(err).toString());
              }
            });
  }

  // ------------------------------------------------------------------ request/reply

  private CompletableFuture<Object> call(MethodDescriptor m, String subject, Object arg) {
    long startNs = clock.nanoTime();
    long deadlineMs = clock.nowMs() + options.timeoutMs();
    CompletableFuture<Object> result;
    try {
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
      byte[] payload = Coding.encode(codec, arg, headers);
      headers.put(ServiceHeaders.DEADLINE, Long.toString(deadlineMs));
      List<io.switchboard.core.Header> wire = Wire.write(headers);
      if (m.idempotent() && options.maxAttempts() > 1) {
        Retry retry =
            retries.computeIfAbsent(subject, s -> services.retries().retry(s, retryConfig));
        result =
            retry
                .executeCompletionStage(
                    services.timers(), () -> attempt(m, subject, wire, payload, deadlineMs))
                .toCompletableFuture();
      } else {
        result = attempt(m, subject, wire, payload, deadlineMs).toCompletableFuture();
      }
    } catch (SwitchboardClientException e) {
      result = CompletableFuture.failedFuture(e);
    }
    return result.whenComplete(
        (v, err) -> {
          count(m, err);
          Timer.builder("switchboard.services.call.duration")
              .tag("service", service.name())
              .tag("method", m.name())
              .register(services.meterRegistry())
              .record(clock.nanoTime() - startNs, TimeUnit.NANOSECONDS);
        });
  }

  private CompletionStage<Object> attempt(
      MethodDescriptor m,
      String subject,
      List<io.switchboard.core.Header> headers,
      byte[] payload,
      long deadlineMs) {
    if (!bulkhead.tryAcquirePermission()) {
      return CompletableFuture.failedFuture(
          Errors.of(ErrorCode.BULKHEAD_FULL, options.maxConcurrentCalls(), service.name()));
    }
    CircuitBreaker cb = breaker(subject);
    if (!cb.tryAcquirePermission()) {
      bulkhead.onComplete();
      return CompletableFuture.failedFuture(circuitOpen(subject, cb));
    }
    long remainingMs = deadlineMs - clock.nowMs();
    if (remainingMs <= 0) {
      cb.releasePermission();
      bulkhead.onComplete();
      return CompletableFuture.failedFuture(
          Errors.of(ErrorCode.DEADLINE_EXCEEDED, subject, -remainingMs, " before it was sent"));
    }
    long startNs = clock.nanoTime();
    CompletableFuture<Reply> sent;
    try {
      sent = client.request(subject, headers, payload, Duration.ofMillis(remainingMs));
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return sent.handle(
        (reply, err) -> {
          bulkhead.onComplete();
          long tookNs = clock.nanoTime() - startNs;
          try {
            if (err != null) {
              throw translate(err, subject, deadlineMs);
            }
            Map<String, String> h = Wire.read(reply.headers());
            SwitchboardClientException remote = Wire.errorOf(h);
            if (remote != null) {
              throw remote;
            }
            Object value =
                Coding.decode(codec, "the caller", subject, h, reply.payload(), m.resultType());
            cb.onSuccess(tookNs, TimeUnit.NANOSECONDS);
            budget.onSuccess();
            return value;
          } catch (RuntimeException e) {
            cb.onError(tookNs, TimeUnit.NANOSECONDS, e);
            throw new CompletionException(e);
          }
        });
  }

  private static SwitchboardClientException circuitOpen(String subject, CircuitBreaker cb) {
    return Errors.of(
        ErrorCode.CIRCUIT_OPEN, subject, cb.getState().name().toLowerCase(java.util.Locale.ROOT));
  }

  /**
   * The client's own errors, in the services' terms: a request that timed out was given exactly the
   * time left before the deadline, so its timeout is the deadline passing.
   */
  private RuntimeException translate(Throwable err, String subject, long deadlineMs) {
    Throwable t = Errors.unwrap(err);
    if (t instanceof SwitchboardClientException e && e.errorCode() == ErrorCode.REQUEST_TIMEOUT) {
      return Errors.of(
          ErrorCode.DEADLINE_EXCEEDED,
          subject,
          Math.max(0, clock.nowMs() - deadlineMs),
          " with no reply");
    }
    return t instanceof RuntimeException r ? r : new CompletionException(t);
  }

  private void count(MethodDescriptor m, Throwable err) {
    ErrorCode code = err == null ? null : Errors.codeOf(err);
    String outcome =
        err == null
            ? "ok"
            : code != null ? code.name() : Errors.unwrap(err).getClass().getSimpleName();
    Counter.builder("switchboard.services.calls")
        .description("service calls made, by outcome (ok or the error code)")
        .tag("service", service.name())
        .tag("method", m.name())
        .tag("outcome", outcome)
        .register(services.meterRegistry())
        .increment();
  }

  // ------------------------------------------------------------------ streams

  private CompletableFuture<Long> stream(
      MethodDescriptor m, String subject, Object arg, Consumer<Object> action) {
    long deadlineMs = clock.nowMs() + options.timeoutMs();
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
    byte[] payload;
    try {
      payload = Coding.encode(codec, arg, headers);
    } catch (SwitchboardClientException e) {
      count(m, e);
      return CompletableFuture.failedFuture(e);
    }
    if (!bulkhead.tryAcquirePermission()) {
      SwitchboardClientException e =
          Errors.of(ErrorCode.BULKHEAD_FULL, options.maxConcurrentCalls(), service.name());
      count(m, e);
      return CompletableFuture.failedFuture(e);
    }
    CircuitBreaker cb = breaker(subject);
    if (!cb.tryAcquirePermission()) {
      bulkhead.onComplete();
      SwitchboardClientException e = circuitOpen(subject, cb);
      count(m, e);
      return CompletableFuture.failedFuture(e);
    }
    long startNs = clock.nanoTime();
    String inbox = services.newInbox();
    headers.put(ServiceHeaders.DEADLINE, Long.toString(deadlineMs));
    headers.put(ServiceHeaders.STREAM_TO, inbox);
    headers.put(ServiceHeaders.STREAM_WINDOW, Integer.toString(StreamReceiver.WINDOW));
    StreamReceiver rx = new StreamReceiver(codec, subject, m.resultType(), action, client);
    long remainingMs = Math.max(1, deadlineMs - clock.nowMs());
    ScheduledFuture<?> timer =
        services
            .timers()
            .schedule(
                () ->
                    rx.fail(
                        Errors.of(
                            ErrorCode.DEADLINE_EXCEEDED,
                            subject,
                            Math.max(0, clock.nowMs() - deadlineMs),
                            " before the stream ended (" + rx.received() + " items arrived)")),
                remainingMs,
                TimeUnit.MILLISECONDS);
    rx.done()
        .whenComplete(
            (n, err) -> {
              timer.cancel(false);
              rx.closeSubscription();
              bulkhead.onComplete();
              long tookNs = clock.nanoTime() - startNs;
              if (err == null) {
                cb.onSuccess(tookNs, TimeUnit.NANOSECONDS);
              } else {
                cb.onError(tookNs, TimeUnit.NANOSECONDS, Errors.unwrap(err));
              }
              count(m, err);
            });
    List<io.switchboard.core.Header> wire = Wire.write(headers);
    try {
      // Subscribing waits for the server's OK: done on a worker, never on the caller's thread.
      services
          .workers()
          .execute(
              () -> {
                try {
                  rx.attach(client.subscribe(inbox, null, rx::onMessage, rx::onDropped));
                  client
                      .request(subject, wire, payload, Duration.ofMillis(remainingMs))
                      .whenComplete(
                          (reply, err) -> {
                            if (err != null) {
                              rx.fail(translate(err, subject, deadlineMs));
                            } else {
                              SwitchboardClientException e =
                                  Wire.errorOf(Wire.read(reply.headers()));
                              if (e != null) {
                                rx.fail(e);
                              }
                            }
                          });
                } catch (RuntimeException e) {
                  rx.fail(e);
                }
              });
    } catch (RejectedExecutionException e) {
      rx.fail(
          Errors.of(
              ErrorCode.BULKHEAD_FULL, Services.MAX_QUEUED_STREAMS, service.name() + " (streams)"));
    }
    return rx.done();
  }
}
