package io.switchboard.protocol.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.PooledByteBufAllocator;
import io.switchboard.testkit.netty.LeakCheck;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeakCheckTest {

  @Test
  void shouldReportABufferThatWasNeverReleased() {
    leakOne();
    List<String> found = new ArrayList<>();
    // Bounded: a collection and an allocation per round; the leak shows within a few.
    for (int round = 0; round < 200 && found.isEmpty(); round++) {
      found.addAll(LeakCheck.poll());
    }
    assertThat(found).isNotEmpty();
    assertThat(found.get(0)).contains("LEAK");
  }

  private static void leakOne() {
    PooledByteBufAllocator.DEFAULT.heapBuffer(64).writeLong(42); // never released, on purpose
  }
}
