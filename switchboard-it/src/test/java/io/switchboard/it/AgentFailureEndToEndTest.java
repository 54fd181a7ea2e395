package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 §1: a fault inside a partition's or a consumer's duty cycle reaches the Java client at
 * once as {@code INTERNAL}, over the native protocol, and the server goes on serving. The fault is
 * planted through the broker's clock: its next reading inside a chosen method throws, as a bug
 * there would.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentFailureEndToEndTest {
  /** Far below the fetch's 30 s wait and the client's request timeout. */
  static final long PROMPTLY_MS = 5_000;

  /** The system clock, except that once armed its next reading inside one method throws. */
  static final class PlantedFault implements Clock {
    final AtomicReference<String> target = new AtomicReference<>();

    void arm(Class<?> type, String method) {
      target.set(type.getName() + "#" + method);
    }

    @Override
    public long nowMs() {
      String t = target.get();
      if (t != null && insideTarget(t) && target.compareAndSet(t, null)) {
        throw new IllegalStateException("planted fault in " + t);
      }
      return Clock.SYSTEM.nowMs();
    }

    private static boolean insideTarget(String t) {
      return StackWalker.getInstance()
          .walk(s -> s.anyMatch(f -> t.equals(f.getClassName() + "#" + f.getMethodName())));
    }

    @Override
    public long nanoTime() {
      return Clock.SYSTEM.nanoTime();
    }
  }

  @TempDir Path dir;
  final PlantedFault clock = new PlantedFault();
  SwitchboardServer server;
  SwitchboardClient client;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), NativeKeys.PORT.name(), "0"),
            clock);
    client = SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort());
    client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"S\",\"subjects\":[\"s.>\"]}");
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static SwitchboardClientException failure(CompletableFuture<?> f) throws Exception {
    try {
      f.get(PROMPTLY_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(SwitchboardClientException.class);
      return (SwitchboardClientException) e.getCause();
    }
    throw new AssertionError("expected a failure, got " + f.join());
  }

  @Test
  void aFaultInAPartitionsAppendFailsThatPublishAtOnceAndTheNextIsStored() throws Exception {
    clock.arm(io.switchboard.log.PartitionLog.class, "append");
    SwitchboardClientException e = failure(client.publishAsync("s.a", bytes("lost")));
    assertThat(e.errorCode()).isEqualTo(ErrorCode.INTERNAL);
    assertThat(e.getMessage()).contains("planted fault");

    assertThat(client.publish("s.a", bytes("kept")).offset()).isZero();
    assertThat(client.readSubject("S", "s.a", 0, 10).messages())
        .extracting(m -> new String(m.payload(), StandardCharsets.UTF_8))
        .containsExactly("kept");
  }

  @Test
  void aFaultInAConsumersDutyCycleFailsAWaitingFetchAtOnceAndItServesOn() throws Exception {
    client.admin(
        Admin.Op.CONSUMER_CREATE,
        "{\"stream\":\"S\",\"config\":{\"name\":\"C\",\"mode\":\"exclusive\",\"ackPolicy\":\"each\"}}");
    CompletableFuture<List<DeliveryEntry>> waiting =
        CompletableFuture.supplyAsync(() -> client.fetch("S", "C", "m1", 1, 30_000));
    // m1's fetch is waiting once the exclusive consumer refuses another member.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              try {
                client.fetch("S", "C", "m2", 1, 0);
                return false;
              } catch (SwitchboardClientException refused) {
                return refused.errorCode() == ErrorCode.CONSUMER_EXCLUSIVE;
              }
            });
    clock.arm(io.switchboard.broker.consumer.ConsumerAgent.class, "doWork");
    SwitchboardClientException e = failure(waiting);
    assertThat(e.errorCode()).isEqualTo(ErrorCode.INTERNAL);

    client.publish("s.a", bytes("after"));
    List<DeliveryEntry> got = client.fetch("S", "C", "m1", 1, 5_000);
    assertThat(got)
        .extracting(d -> new String(d.payload(), StandardCharsets.UTF_8))
        .containsExactly("after");
    assertThat(client.ack("S", "C", got.get(0))).isTrue();
  }
}
