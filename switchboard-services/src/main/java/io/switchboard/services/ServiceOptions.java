package io.switchboard.services;

/**
 * How one service is called and served. Immutable; {@code with*} methods return a changed copy.
 *
 * @param contentType the codec: {@code application/json} (the default), {@code
 *     application/x-protobuf}, {@code application/avro} or {@code application/msgpack}
 * @param timeoutMs each call's deadline, from the moment it is made, across all its attempts
 * @param queueGroup the queue group a served service subscribes in (null: the service's name)
 * @param maxAttempts attempts of an {@link Idempotent} method (1: no retries); other methods are
 *     tried once
 * @param initialBackoffMs first retry delay; grows ×2 per attempt, each randomised by ±50%
 * @param maxBackoffMs ceiling of the retry delay
 * @param retryBudgetTokens the retry budget (gRPC's retry throttling): a bucket of this many
 *     tokens, starting full; each failed call takes one, each success returns {@code
 *     retryBudgetRatio}; retries are made only while more than half the tokens remain
 * @param retryBudgetRatio tokens a success returns
 * @param circuitWindow calls the circuit breaker looks back over (count-based window)
 * @param circuitMinimumCalls calls needed before the failure rate counts
 * @param circuitFailureRatePercent failure rate at or above which the circuit opens
 * @param circuitOpenMs how long an open circuit refuses calls before letting trial calls through
 * @param circuitHalfOpenCalls trial calls in the half-open state
 * @param maxConcurrentCalls the bulkhead: calls to this service in flight at once from this client;
 *     one more fails at once with {@code BULKHEAD_FULL}
 * @param maxStreamItems most items {@link ReplyStream#toList()} collects
 */
public record ServiceOptions(
    String contentType,
    long timeoutMs,
    String queueGroup,
    int maxAttempts,
    long initialBackoffMs,
    long maxBackoffMs,
    double retryBudgetTokens,
    double retryBudgetRatio,
    int circuitWindow,
    int circuitMinimumCalls,
    float circuitFailureRatePercent,
    long circuitOpenMs,
    int circuitHalfOpenCalls,
    int maxConcurrentCalls,
    int maxStreamItems) {

  /** JSON: readable, needs no generated code, and every language speaks it. */
  public static final String DEFAULT_CONTENT_TYPE = "application/json";

  /** Generous for a request over a LAN; a service with a tighter budget says so per client. */
  public static final long DEFAULT_TIMEOUT_MS = 5_000;

  /** Two retries ride out a responder restart without tripling load when all are down. */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;

  /** gRPC's retry-throttling defaults: retries stop once ~10% of calls fail. */
  public static final double DEFAULT_RETRY_BUDGET_TOKENS = 10;

  public static final double DEFAULT_RETRY_BUDGET_RATIO = 0.1;

  /**
   * A bound on concurrency, so a stalled service ties up at most this many requests (and the
   * server's pending-request limit, 4096 per connection, is never the first limit hit).
   */
  public static final int DEFAULT_MAX_CONCURRENT_CALLS = 1_024;

  public ServiceOptions {
    if (contentType == null || contentType.isBlank()) {
      throw new IllegalArgumentException("contentType must be set");
    }
    positive("timeoutMs", timeoutMs);
    positive("maxAttempts", maxAttempts);
    positive("initialBackoffMs", initialBackoffMs);
    if (maxBackoffMs < initialBackoffMs) {
      throw new IllegalArgumentException(
          "maxBackoffMs " + maxBackoffMs + " < initialBackoffMs " + initialBackoffMs);
    }
    if (!(retryBudgetTokens >= 1) || !(retryBudgetRatio > 0) || retryBudgetRatio > 1) {
      throw new IllegalArgumentException(
          "retry budget: tokens ≥ 1 and 0 < ratio ≤ 1, not "
              + retryBudgetTokens
              + ", "
              + retryBudgetRatio);
    }
    positive("circuitWindow", circuitWindow);
    positive("circuitMinimumCalls", circuitMinimumCalls);
    if (!(circuitFailureRatePercent > 0) || circuitFailureRatePercent > 100) {
      throw new IllegalArgumentException(
          "circuitFailureRatePercent must be in (0, 100], not " + circuitFailureRatePercent);
    }
    positive("circuitOpenMs", circuitOpenMs);
    positive("circuitHalfOpenCalls", circuitHalfOpenCalls);
    positive("maxConcurrentCalls", maxConcurrentCalls);
    positive("maxStreamItems", maxStreamItems);
  }

  private static void positive(String name, long value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be ≥ 1, not " + value);
    }
  }

  /** The defaults: JSON, 5 s deadline, 3 attempts from 50 ms to 1 s, circuit 50% of 20 calls. */
  public static ServiceOptions defaults() {
    return new ServiceOptions(
        DEFAULT_CONTENT_TYPE,
        DEFAULT_TIMEOUT_MS,
        null,
        DEFAULT_MAX_ATTEMPTS,
        50,
        1_000,
        DEFAULT_RETRY_BUDGET_TOKENS,
        DEFAULT_RETRY_BUDGET_RATIO,
        20,
        10,
        50f,
        5_000,
        3,
        DEFAULT_MAX_CONCURRENT_CALLS,
        100_000);
  }

  public ServiceOptions withContentType(String value) {
    return new ServiceOptions(
        value,
        timeoutMs,
        queueGroup,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        retryBudgetTokens,
        retryBudgetRatio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        maxConcurrentCalls,
        maxStreamItems);
  }

  public ServiceOptions withTimeoutMs(long value) {
    return new ServiceOptions(
        contentType,
        value,
        queueGroup,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        retryBudgetTokens,
        retryBudgetRatio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        maxConcurrentCalls,
        maxStreamItems);
  }

  public ServiceOptions withQueueGroup(String value) {
    return new ServiceOptions(
        contentType,
        timeoutMs,
        value,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        retryBudgetTokens,
        retryBudgetRatio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        maxConcurrentCalls,
        maxStreamItems);
  }

  /** Attempts and back-off of idempotent methods. */
  public ServiceOptions withRetries(int attempts, long initialMs, long maxMs) {
    return new ServiceOptions(
        contentType,
        timeoutMs,
        queueGroup,
        attempts,
        initialMs,
        maxMs,
        retryBudgetTokens,
        retryBudgetRatio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        maxConcurrentCalls,
        maxStreamItems);
  }

  public ServiceOptions withRetryBudget(double tokens, double ratio) {
    return new ServiceOptions(
        contentType,
        timeoutMs,
        queueGroup,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        tokens,
        ratio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        maxConcurrentCalls,
        maxStreamItems);
  }

  /** The circuit breaker of each method subject. */
  public ServiceOptions withCircuit(
      int window, int minimumCalls, float failureRatePercent, long openMs, int halfOpenCalls) {
    return new ServiceOptions(
        contentType,
        timeoutMs,
        queueGroup,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        retryBudgetTokens,
        retryBudgetRatio,
        window,
        minimumCalls,
        failureRatePercent,
        openMs,
        halfOpenCalls,
        maxConcurrentCalls,
        maxStreamItems);
  }

  public ServiceOptions withMaxConcurrentCalls(int value) {
    return new ServiceOptions(
        contentType,
        timeoutMs,
        queueGroup,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        retryBudgetTokens,
        retryBudgetRatio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        value,
        maxStreamItems);
  }

  public ServiceOptions withMaxStreamItems(int value) {
    return new ServiceOptions(
        contentType,
        timeoutMs,
        queueGroup,
        maxAttempts,
        initialBackoffMs,
        maxBackoffMs,
        retryBudgetTokens,
        retryBudgetRatio,
        circuitWindow,
        circuitMinimumCalls,
        circuitFailureRatePercent,
        circuitOpenMs,
        circuitHalfOpenCalls,
        maxConcurrentCalls,
        value);
  }
}
