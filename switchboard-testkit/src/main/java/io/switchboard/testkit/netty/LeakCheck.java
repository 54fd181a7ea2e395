package io.switchboard.testkit.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a leaked buffer while it ran. Netty finds a leak when a
 * tracked buffer is garbage-collected unreleased and a later allocation polls the queue, so the
 * check collects garbage and allocates a few times first. Not thread-safe; used from test threads.
 */
public final class LeakCheck implements AfterAllCallback {

  /** Rounds of collect-and-allocate; enough for the reference handler to enqueue what died. */
  private static final int ROUNDS = 5;

  @Override
  public void afterAll(ExtensionContext context) {
    assertNoLeaks();
  }

  /** Collects garbage, makes Netty look for leaks, and fails if it found any. */
  public static void assertNoLeaks() {
    List<String> leaks = new ArrayList<>();
    for (int i = 0; i < ROUNDS; i++) {
      leaks.addAll(poll());
    }
    assertThat(leaks).as("Netty buffer leaks").isEmpty();
  }

  /** One round: collect garbage, allocate through both allocators so the detector polls. */
  public static List<String> poll() {
    assertThat(ResourceLeakDetector.getLevel())
        .as("tests run with -Dio.netty.leakDetection.level=paranoid")
        .isEqualTo(ResourceLeakDetector.Level.PARANOID);
    System.gc();
    ByteBuf a = UnpooledByteBufAllocator.DEFAULT.heapBuffer(8);
    ByteBuf b = PooledByteBufAllocator.DEFAULT.heapBuffer(8);
    a.release();
    b.release();
    return FailingLeakDetector.drain();
  }
}
