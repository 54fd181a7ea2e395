package io.switchboard.broker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeliveryTimersTest {
  /** A stand-in for the consumer's entries: offset to (tracked object, its current due time). */
  final Map<Long, Object> entries = new HashMap<>();

  final Map<Object, Long> due = new HashMap<>();

  final DeliveryTimers timers =
      new DeliveryTimers(
          new DeliveryTimers.Owner() {
            @Override
            public boolean isCurrent(int partition, long offset, Object tracked, long dueMs) {
              return entries.get(offset) == tracked && due.get(tracked) == dueMs;
            }

            @Override
            public int live() {
              return entries.size();
            }
          });

  Object track(long offset, long dueMs) {
    Object t = entries.computeIfAbsent(offset, o -> new Object());
    due.put(t, dueMs);
    timers.schedule(0, offset, t, dueMs);
    return t;
  }

  List<Long> pollAll(long now) {
    List<Long> out = new ArrayList<>();
    DeliveryTimers.Timer t;
    while ((t = timers.pollDue(now)) != null) {
      out.add(t.offset());
    }
    return out;
  }

  @Test
  void dueEntriesComeInDueOrderAndMovedOrRemovedOnesAreSkipped() {
    track(1, 300);
    track(2, 100);
    track(3, 200);
    track(4, 150);
    track(3, 500); // moved later: its 200 entry is stale
    entries.remove(4L); // acknowledged
    assertThat(timers.nextDueMs()).isEqualTo(100);
    assertThat(pollAll(250)).containsExactly(2L);
    assertThat(timers.nextDueMs()).isEqualTo(300);
    assertThat(pollAll(1_000)).containsExactly(1L, 3L);
    assertThat(timers.nextDueMs()).isEqualTo(Long.MAX_VALUE);
    assertThat(timers.pollDue(Long.MAX_VALUE)).isNull();
  }

  @Test
  void staleEntriesAreBoundedByTheLiveOnes() {
    track(1, 10);
    for (int i = 0; i < 100_000; i++) {
      track(1, 10 + i); // an in-progress note moving one deadline again and again
    }
    assertThat(timers.size()).isLessThanOrEqualTo(2 * entries.size() + 1024 + 1);
    assertThat(pollAll(Long.MAX_VALUE - 1)).containsExactly(1L);
  }
}
