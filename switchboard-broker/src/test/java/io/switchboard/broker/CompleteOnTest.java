package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.Settlement;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Publish and consumer futures completing on the executor the caller names (its event loop). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CompleteOnTest {
  @TempDir Path dir;
  Broker broker;

  /** A loop stand-in whose tasks run only when the test says so. */
  final ConcurrentLinkedQueue<Runnable> loop = new ConcurrentLinkedQueue<>();

  final Executor caller = loop::add;

  @BeforeEach
  void open() {
    broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    broker.createStream(StreamConfig.builder("S", "s.>").build());
    broker.createConsumer("S", ConsumerConfig.builder("C").build());
  }

  @AfterEach
  void close() {
    broker.close();
  }

  /** Waits until the broker has handed a task to the caller's loop, then runs the loop's tasks. */
  void runLoopOnceHandedOver() {
    await().atMost(Duration.ofSeconds(10)).until(() -> !loop.isEmpty());
    Runnable r;
    while ((r = loop.poll()) != null) {
      r.run();
    }
  }

  @Test
  void publishFetchAndSettleCompleteOnlyThroughTheNamedExecutor() {
    CompletableFuture<PublishAck> ack =
        broker.publish(
            Message.of("s.a", "x".getBytes(StandardCharsets.UTF_8), 0),
            PublishOptions.NONE,
            caller);
    runLoopOnceHandedOver();
    assertThat(ack).isCompleted();
    assertThat(ack.join().offset()).isZero();

    CompletableFuture<List<Delivery>> fetched = broker.fetch("S", "C", "m", 10, 5_000, caller);
    runLoopOnceHandedOver();
    assertThat(fetched).isCompleted();
    Delivery d = fetched.join().getFirst();

    CompletableFuture<List<Boolean>> settled =
        broker.settle("S", "C", List.of(Settlement.ack(d.partition(), d.offset())), caller);
    runLoopOnceHandedOver();
    assertThat(settled.join()).containsExactly(true);
  }

  @Test
  void aFailureAlsoArrivesThroughTheNamedExecutor() {
    CompletableFuture<List<Delivery>> f = broker.fetch("S", "missing", "m", 1, 0, caller);
    runLoopOnceHandedOver();
    assertThat(f).isCompletedExceptionally();
  }

  @Test
  void anExecutorThatRefusesDoesNotLoseTheOutcome() {
    Executor closed =
        r -> {
          throw new RejectedExecutionException("loop shut down");
        };
    CompletableFuture<PublishAck> ack =
        broker.publish(
            Message.of("s.a", "x".getBytes(StandardCharsets.UTF_8), 0),
            PublishOptions.NONE,
            closed);
    await().atMost(Duration.ofSeconds(10)).until(ack::isDone);
    assertThat(ack.join().offset()).isZero();
  }
}
