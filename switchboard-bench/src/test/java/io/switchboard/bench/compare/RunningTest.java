package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A started broker is waited for on its ports, and stopped when it never listens. */
class RunningTest {
  @TempDir Path dir;

  @Test
  void aBrokerThatNeverListensIsStoppedByPid() throws Exception {
    Process p = Procs.start(List.of("sleep", "60"), Map.of(), dir.resolve("sleep.log"));
    Running r = new Running(List.of(p), Map.of("x", Running.freePort()), dir.resolve("sleep.log"));
    assertThatThrownBy(() -> r.awaitListening(Duration.ofMillis(300)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not listening");
    assertThat(p.isAlive()).isFalse();
  }

  @Test
  void everyPortMustListen() throws Exception {
    try (ServerSocket open = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Process p = Procs.start(List.of("sleep", "60"), Map.of(), dir.resolve("sleep.log"));
      Running one = new Running(List.of(p), Map.of("a", open.getLocalPort()), dir.resolve("l"));
      assertThat(one.awaitListening(Duration.ofSeconds(10))).isSameAs(one);
      assertThat(p.isAlive()).isTrue();
      Running two =
          new Running(
              List.of(p),
              Map.of("a", open.getLocalPort(), "b", Running.freePort()),
              dir.resolve("l"));
      assertThatThrownBy(() -> two.awaitListening(Duration.ofMillis(300)))
          .isInstanceOf(IllegalStateException.class);
      assertThat(p.isAlive()).isFalse();
    }
  }
}
