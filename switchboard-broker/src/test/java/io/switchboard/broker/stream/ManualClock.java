package io.switchboard.broker.stream;

import io.switchboard.core.Clock;
import java.util.concurrent.atomic.AtomicLong;

/** A clock tests advance by hand. Thread-safe. */
final class ManualClock implements Clock {
  final AtomicLong ms = new AtomicLong(1_700_000_000_000L);

  @Override
  public long nowMs() {
    return ms.get();
  }

  @Override
  public long nanoTime() {
    return ms.get() * 1_000_000L;
  }
}
