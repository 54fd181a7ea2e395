package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A subscription handler slower than the messages: the client queues a bounded number of frames for
 * it, stops reading past that, and the server drops live messages for the reader that fell behind —
 * neither side's memory absorbs the difference. Once the handler catches up, the subscription goes
 * on.
 */
class SlowHandlerTest {
  static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  SwitchboardServer server;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void aBlockedHandlerBoundsTheClientQueueAndTheSubscriptionRecovers() throws Exception {
    String address = "127.0.0.1:" + server.addresses().get("native").getPort();
    CountDownLatch release = new CountDownLatch(1);
    AtomicLong handled = new AtomicLong();
    AtomicInteger markers = new AtomicInteger();
    int published = 3 * SwitchboardClient.MAX_QUEUED_CALLBACKS;
    try (SwitchboardClient sub = SwitchboardClient.connect(address);
        SwitchboardClient pub = SwitchboardClient.connect(address)) {
      sub.subscribe(
          "load.>",
          (LiveMessage m) -> {
            try {
              if (!release.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            handled.incrementAndGet();
            if (m.subject().equals("load.marker")) {
              markers.incrementAndGet();
            }
          });
      byte[] payload = new byte[100];
      // Written in windows of 1,000, so the publisher respects its own client's bound on
      // unwritten publishes.
      List<CompletableFuture<?>> window = new ArrayList<>();
      for (int i = 0; i < published; i++) {
        window.add(pub.publishAsync(PublishBuilder.to("load.x", payload).noAck()));
        if (window.size() == 1_000) {
          CompletableFuture.allOf(window.toArray(CompletableFuture[]::new))
              .get(30, TimeUnit.SECONDS);
          window.clear();
        }
      }
      pub.publish("load.flushed", payload); // acknowledged: everything before it was read
      // The client took what it may queue and stopped reading; the rest waits in the server's
      // bounded buffers or was dropped there.
      await()
          .atMost(WAIT)
          .until(() -> sub.queuedCallbacks() >= SwitchboardClient.MAX_QUEUED_CALLBACKS);
      // ...and stays under its bound while the handler stays blocked (without the bound, the
      // whole 196,608 would pile up here within milliseconds).
      await()
          .during(Duration.ofSeconds(1))
          .atMost(WAIT)
          .until(() -> sub.queuedCallbacks() < SwitchboardClient.MAX_QUEUED_CALLBACKS + 10_000);
      release.countDown();
      await().atMost(WAIT).until(() -> sub.queuedCallbacks() == 0);
      assertThat(handled.get()).isLessThan(published + 1L); // some dropped, none invented
      // The subscription carries on once the handler keeps up.
      pub.publish("load.marker", payload);
      await().atMost(WAIT).until(() -> markers.get() == 1);
    }
  }
}
