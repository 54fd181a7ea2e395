package io.switchboard.broker.live;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Requests whose sb-deadline has passed are dropped by the bus, counted and answered. */
class DeadlineTest {
  final ManualClock clock = new ManualClock();
  final LiveBus bus = new LiveBus(LiveBusConfig.DEFAULTS, clock);

  @AfterEach
  void close() {
    bus.close();
  }

  static Message withDeadline(Message m, long deadlineMs) {
    return m.withHeader(
        LiveBus.DEADLINE_HEADER, Long.toString(deadlineMs).getBytes(StandardCharsets.US_ASCII));
  }

  static String header(Message m, String name) {
    byte[] v = m.header(name);
    return v == null ? null : new String(v, StandardCharsets.UTF_8);
  }

  @Test
  void shouldFailARequestWhoseDeadlineHasPassedWithoutDeliveringIt() {
    List<Message> got = new ArrayList<>();
    bus.subscribe("svc.a", "g", got::add, Runnable::run);
    Message req = withDeadline(Message.of("svc.a", new byte[0], 0), clock.nowMs() - 5);
    CompletableFuture<Message> reply = bus.request(req, Duration.ofSeconds(5));
    assertThat(reply)
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXPIRED);
              assertThat(e.getMessage()).contains("svc.a", "5 ms");
            });
    assertThat(got).isEmpty();
    assertThat(bus.deadlineExpiredCount()).isEqualTo(1);
    assertThat(bus.pendingRequests()).isZero();
  }

  @Test
  void shouldDeliverARequestWhoseDeadlineIsAheadOrUnreadable() {
    List<Message> got = new ArrayList<>();
    bus.subscribe("svc.a", null, got::add, Runnable::run);
    bus.publish(
        withDeadline(Message.of("svc.a", new byte[0], 0), clock.nowMs() + 1000).withReplyTo("r.1"));
    bus.publish(
        Message.of("svc.a", new byte[0], 0)
            .withReplyTo("r.2")
            .withHeader(LiveBus.DEADLINE_HEADER, "soon".getBytes(StandardCharsets.UTF_8)));
    // Not a request (no reply subject): a deadline header is just a header.
    bus.publish(withDeadline(Message.of("svc.a", new byte[0], 0), clock.nowMs() - 1));
    assertThat(got).hasSize(3);
    assertThat(bus.deadlineExpiredCount()).isZero();
  }

  @Test
  void shouldAnswerAPublishedRequestOnItsReplySubjectWithTheErrorAndItsCorrelationId() {
    List<Message> served = new ArrayList<>();
    List<Message> replies = new ArrayList<>();
    bus.subscribe("svc.a", "g", served::add, Runnable::run);
    bus.subscribe("client.inbox", null, replies::add, Runnable::run);
    Message req =
        withDeadline(
            new Message(
                "svc.a",
                null,
                List.of(new Header(Message.CORRELATION_ID, "c-1".getBytes(StandardCharsets.UTF_8))),
                new byte[] {1},
                0,
                "client.inbox"),
            clock.nowMs());
    assertThat(bus.publish(req)).isZero();
    assertThat(served).isEmpty();
    assertThat(replies).hasSize(1);
    Message error = replies.getFirst();
    assertThat(header(error, Message.CORRELATION_ID)).isEqualTo("c-1");
    assertThat(header(error, LiveBus.ERROR_CODE_HEADER)).isEqualTo("2120");
    assertThat(header(error, LiveBus.ERROR_HEADER)).contains("svc.a", "expired");
    assertThat(error.payload()).isEmpty();
  }

  @Test
  void shouldDropARequestWhoseDeadlinePassesWhileItWaitsInABuffer() {
    List<Runnable> queued = new ArrayList<>();
    Executor later = queued::add; // the member's executor runs only when the test says
    List<Message> served = new ArrayList<>();
    bus.subscribe("svc.a", "g", served::add, later);
    CompletableFuture<Message> reply =
        bus.request(
            withDeadline(Message.of("svc.a", new byte[0], 0), clock.nowMs() + 100),
            Duration.ofSeconds(30));
    assertThat(bus.trackedRequests()).isEqualTo(1);
    clock.ms.addAndGet(100);
    queued.forEach(Runnable::run);
    assertThat(served).isEmpty();
    assertThat(bus.deadlineExpiredCount()).isEqualTo(1);
    assertThat(bus.trackedRequests()).isZero();
    assertThat(reply.isCompletedExceptionally()).isTrue();
    assertThat(
            org.assertj.core.api.Assertions.catchThrowableOfType(
                CompletionException.class, reply::join))
        .hasCauseInstanceOf(SwitchboardException.class)
        .cause()
        .hasMessageContaining("expired");
  }
}
