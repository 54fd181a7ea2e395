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
  void otherThreadsAndWrittenDownExceptionsMayBlock() throws Exception {
    assertThat(onThread(false, () -> Blocking.check("Broker.read"))).isNull();
    assertThat(
            onThread(
                true,
                () ->
                    Blocking.tolerated(
                        "a known exception",
                        () -> {
                          Blocking.check("Broker.read");
                          return null;
                        })))
        .isNull();
    // The exception ends with its call: the next check on that thread fails again.
    assertThat(
            onThread(
                true,
                () -> {
                  Blocking.tolerated("once", () -> null);
                  Blocking.check("Broker.read");
                }))
        .isInstanceOf(IllegalStateException.class);
  }
}
