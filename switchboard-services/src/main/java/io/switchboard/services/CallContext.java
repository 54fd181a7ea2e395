package io.switchboard.services;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import java.util.Map;

/**
 * What a responder knows about the call it is serving: the subject, the request's headers and its
 * deadline. Immutable, thread-safe.
 *
 * <p>{@link #current()} returns it while the service method runs on the thread that called it (the
 * client's callback thread); a method that continues asynchronously captures it first:
 *
 * <pre>{@code
 * CallContext call = CallContext.current();
 * return CompletableFuture.supplyAsync(() -> search(q, call.remainingMs()), pool);
 * }</pre>
 */
public final class CallContext {
  private static final ThreadLocal<CallContext> CURRENT = new ThreadLocal<>();

  /** {@link #deadlineMs()} of a request that carries no deadline. */
  public static final long NO_DEADLINE = Long.MAX_VALUE;

  private final String subject;
  private final Map<String, String> headers;
  private final long deadlineMs;
  private final Clock clock;

  CallContext(String subject, Map<String, String> headers, long deadlineMs, Clock clock) {
    this.subject = subject;
    this.headers = Map.copyOf(headers);
    this.deadlineMs = deadlineMs;
    this.clock = clock;
  }

  /** The call being served on this thread, or null outside a service method. */
  public static CallContext current() {
    return CURRENT.get();
  }

  static CallContext swap(CallContext next) {
    CallContext previous = CURRENT.get();
    if (next == null) {
      CURRENT.remove();
    } else {
      CURRENT.set(next);
    }
    return previous;
  }

  /** The subject the call arrived on: {@code svc.<service>.<method>}. */
  public String subject() {
    return subject;
  }

  /** The request's headers (the last value of each name). */
  public Map<String, String> headers() {
    return headers;
  }

  /** The caller's deadline, ms since the epoch (UTC), or {@link #NO_DEADLINE}. */
  public long deadlineMs() {
    return deadlineMs;
  }

  /**
   * Milliseconds left before the caller gives up (0 once passed; {@code Long.MAX_VALUE} without a
   * deadline). Read against this host's clock, so clock skew between hosts shifts it.
   */
  public long remainingMs() {
    if (deadlineMs == NO_DEADLINE) {
      return Long.MAX_VALUE;
    }
    return Math.max(0, deadlineMs - clock.nowMs());
  }

  /** Whether the deadline has passed: the caller no longer waits for the answer. */
  public boolean expired() {
    return deadlineMs != NO_DEADLINE && clock.nowMs() >= deadlineMs;
  }

  /**
   * The error to fail a call with when the service cannot serve it for now (overloaded, a
   * dependency down): {@code SERVICE_UNAVAILABLE}, which callers retry for idempotent methods. Any
   * other exception a method throws becomes the non-retriable {@code SERVICE_FAILED}.
   */
  public SwitchboardClientException unavailable(String why) {
    return Errors.of(ErrorCode.SERVICE_UNAVAILABLE, subject, why);
  }
}
