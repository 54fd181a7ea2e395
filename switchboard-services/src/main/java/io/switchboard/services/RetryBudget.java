package io.switchboard.services;

/**
 * gRPC's retry throttling (gRFC A6): a bucket of {@code maxTokens}, starting full. Every failed
 * attempt takes one token, every success returns {@code ratio}; a retry is allowed only while more
 * than half the bucket remains. When a service is down, retries stop after a handful of failures
 * instead of multiplying the load on it; they resume as successes refill the bucket. Thread-safe.
 */
final class RetryBudget {
  private final double maxTokens;
  private final double ratio;
  private double tokens;

  RetryBudget(double maxTokens, double ratio) {
    this.maxTokens = maxTokens;
    this.ratio = ratio;
    this.tokens = maxTokens;
  }

  synchronized void onSuccess() {
    tokens = Math.min(maxTokens, tokens + ratio);
  }

  /** Records a failed attempt; returns whether a retry is allowed after it. */
  synchronized boolean onFailureMayRetry() {
    tokens = Math.max(0, tokens - 1);
    return tokens > maxTokens / 2;
  }

  synchronized double tokens() {
    return tokens;
  }
}
