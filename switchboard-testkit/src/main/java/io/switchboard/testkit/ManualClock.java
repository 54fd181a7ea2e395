package io.switchboard.testkit;

import io.switchboard.core.Clock;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock that moves only when a test moves it, so time-dependent code runs deterministically.
 * Thread-safe.
 */
public final class ManualClock implements Clock {
  /** Milliseconds since the epoch; tests advance it with {@code ms.addAndGet}. */
  public final AtomicLong ms = new AtomicLong(1_700_000_000_000L);

  @Override
  public long nowMs() {
    return ms.get();
  }

  @Override
  public long nanoTime() {
    return ms.get() * 1_000_000L;
  }
}
