package io.switchboard.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The build runs every test in strict mode (switchboard.blocking.strict=true, see pom.xml). */
class BlockingTest {
  static Throwable onThread(boolean marked, Runnable r) throws Exception {
    CompletableFuture<Throwable> out = new CompletableFuture<>();
    new Thread(
            () -> {
              if (marked) {
                Blocking.markNonBlocking();
              }
              try {
                r.run();
                out.complete(null);
              } catch (Throwable t) {
                out.complete(t);
              }
            })
        .start();
    return out.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aBlockingCallOnAThreadThatMustNotBlockFailsInStrictMode() throws Exception {
    assertThat(Boolean.getBoolean("switchboard.blocking.strict")).as("the build sets it").isTrue();
    Throwable t = onThread(true, () -> Blocking.check("Broker.read"));
    assertThat(t)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Broker.read may block")
        .hasMessageContaining("Broker.offload");
  }

  @Test
  void otherThreadsMayBlock() throws Exception {
    assertThat(onThread(false, () -> Blocking.check("Broker.read"))).isNull();
  }
}
