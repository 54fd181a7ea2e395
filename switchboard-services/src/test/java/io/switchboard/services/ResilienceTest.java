package io.switchboard.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.services.Quotes.Quote;
import io.switchboard.services.Quotes.QuoteRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deadlines, retries, the retry budget, the circuit breaker and the bulkhead, on a real server. */
class ResilienceTest {
  @TempDir static Path dir;
  static TestServer server;

  SwitchboardClient responderClient;
  SwitchboardClient callerClient;
  Services responder;
  Services caller;

  @BeforeAll
  static void startServer() throws Exception {
    server = new TestServer(dir);
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void connect() {
    responderClient = SwitchboardClient.connect(server.address());
    callerClient = SwitchboardClient.connect(server.address());
    responder = Services.builder(responderClient).build();
    caller = Services.builder(callerClient).build();
  }

  @AfterEach
  void disconnect() {
    caller.close();
    responder.close();
    callerClient.close();
    responderClient.close();
  }

  /** A quote service whose behaviour each test scripts. */
  static class Scripted implements Quotes {
    final AtomicInteger getCalls = new AtomicInteger();
    final AtomicInteger placeCalls = new AtomicInteger();

    /** How many of the next calls fail with SERVICE_UNAVAILABLE. */
    final AtomicInteger unavailable = new AtomicInteger();

    final AtomicBoolean broken = new AtomicBoolean();
    final AtomicBoolean hang = new AtomicBoolean();
    final List<CompletableFuture<Quote>> held = new CopyOnWriteArrayList<>();

    CompletableFuture<Quote> answer(QuoteRequest r) {
      if (unavailable.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw CallContext.current().unavailable("warming up");
      }
      if (broken.get()) {
        throw new IllegalStateException("database down");
      }
      if (hang.get()) {
        CompletableFuture<Quote> f = new CompletableFuture<>();
        held.add(f);
        return f;
      }
      return CompletableFuture.completedFuture(new Quote(r.symbol(), 1, List.of()));
    }

    @Override
    public CompletableFuture<Quote> get(QuoteRequest r) {
      getCalls.incrementAndGet();
      return answer(r);
    }

    @Override
    public CompletableFuture<Quote> place(QuoteRequest r) {
      placeCalls.incrementAndGet();
      return answer(r);
    }

    @Override
    public ReplyStream<Quote> history(QuoteRequest r) {
      return ReplyStream.of(List.of());
    }

    @Override
    public void touch(QuoteRequest r) {}
  }

  static void assertCode(ThrowingCallable call, ErrorCode code) {
    assertThatThrownBy(call)
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class, e -> assertThat(e.errorCode()).isEqualTo(code));
  }

  @Test
  void shouldFailACallWithDeadlineExceededWhenNoReplyComesInTime() {
    Scripted s = new Scripted();
    s.hang.set(true);
    responder.serve(Quotes.class, s);
    Quotes quotes = caller.client(Quotes.class, ServiceOptions.defaults().withTimeoutMs(300));

    long start = System.nanoTime();
    assertCode(() -> quotes.place(new QuoteRequest("A")).join(), ErrorCode.DEADLINE_EXCEEDED);

    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(250L, 5_000L);
  }

  @Test
  void shouldNotRunACallWhoseDeadlinePassedBeforeItArrived() {
    Scripted s = new Scripted();
    responder.serve(Quotes.class, s);
    // A caller whose clock is 10 s behind writes a deadline that has passed for the responder.
    Clock behind =
        new Clock() {
          @Override
          public long nowMs() {
            return System.currentTimeMillis() - 10_000;
          }

          @Override
          public long nanoTime() {
            return System.nanoTime();
          }
        };
    try (Services late = Services.builder(callerClient).clock(behind).build()) {
      Quotes quotes = late.client(Quotes.class, ServiceOptions.defaults().withTimeoutMs(2_000));

      assertThatThrownBy(() -> quotes.get(new QuoteRequest("A")).join())
          .cause()
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> {
                // The broker drops a request whose sb-deadline has passed before delivering it
                // (docs/routing.md), so the refusal comes from there, before the responder's own
                // check (which stays for a deadline that passes while the call waits in the
                // responder).
                assertThat(e.errorCode()).isEqualTo(ErrorCode.DEADLINE_EXPIRED);
                assertThat(e.detail()).contains("before the broker could deliver it");
              });
    }
    assertThat(s.getCalls).hasValue(0);
  }

  @Test
  void shouldRetryAnIdempotentMethodAndNotOthers() {
    Scripted s = new Scripted();
    responder.serve(Quotes.class, s);
    Quotes quotes = caller.client(Quotes.class, ServiceOptions.defaults().withRetries(3, 10, 50));

    s.unavailable.set(2);
    assertThat(quotes.get(new QuoteRequest("A")).join().symbol()).isEqualTo("A");
    assertThat(s.getCalls).hasValue(3);

    s.unavailable.set(2);
    assertCode(() -> quotes.place(new QuoteRequest("A")).join(), ErrorCode.SERVICE_UNAVAILABLE);
    assertThat(s.placeCalls).hasValue(1);

    assertThat(
            caller
                .meterRegistry()
                .get("resilience4j.retry.calls")
                .tags("name", "svc.quotes.get", "kind", "successful_with_retry")
                .functionCounter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void shouldNotRetryAServiceFailure() {
    Scripted s = new Scripted();
    s.broken.set(true);
    responder.serve(Quotes.class, s);
    Quotes quotes = caller.client(Quotes.class, ServiceOptions.defaults().withRetries(3, 10, 50));

    assertCode(() -> quotes.get(new QuoteRequest("A")).join(), ErrorCode.SERVICE_FAILED);
    assertThat(s.getCalls).hasValue(1);
  }

  @Test
  void shouldStopRetryingWhenTheRetryBudgetIsSpent() {
    Scripted s = new Scripted();
    s.unavailable.set(Integer.MAX_VALUE);
    responder.serve(Quotes.class, s);
    // 4 tokens: retries only while more than 2 remain.
    Quotes quotes =
        caller.client(
            Quotes.class, ServiceOptions.defaults().withRetries(5, 10, 50).withRetryBudget(4, 0.1));

    assertCode(() -> quotes.get(new QuoteRequest("A")).join(), ErrorCode.SERVICE_UNAVAILABLE);
    assertThat(s.getCalls).as("first failure leaves 3 tokens: one retry; then 2: none").hasValue(2);
    assertCode(() -> quotes.get(new QuoteRequest("A")).join(), ErrorCode.SERVICE_UNAVAILABLE);
    assertThat(s.getCalls).hasValue(3);
    assertThat(
            caller
                .meterRegistry()
                .get("switchboard.services.retries.throttled")
                .tags("service", "quotes")
                .counter()
                .count())
        .isEqualTo(2);
  }

  @Test
  void shouldOpenTheCircuitAfterFailuresAndCloseItWhenTheServiceRecovers() {
    Scripted s = new Scripted();
    s.broken.set(true);
    responder.serve(Quotes.class, s);
    Quotes quotes =
        caller.client(Quotes.class, ServiceOptions.defaults().withCircuit(4, 4, 50f, 300, 1));

    for (int i = 0; i < 4; i++) {
      assertCode(() -> quotes.place(new QuoteRequest("A")).join(), ErrorCode.SERVICE_FAILED);
    }
    CircuitBreaker cb = caller.circuitBreakers().circuitBreaker("svc.quotes.place");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);
    assertCode(() -> quotes.place(new QuoteRequest("A")).join(), ErrorCode.CIRCUIT_OPEN);
    assertThat(s.placeCalls).as("an open circuit does not reach the service").hasValue(4);

    s.broken.set(false);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> quotes.place(new QuoteRequest("A")).handle((q, e) -> q != null).join());
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(
            caller
                .meterRegistry()
                .get("resilience4j.circuitbreaker.not.permitted.calls")
                .tags("name", "svc.quotes.place")
                .counter()
                .count())
        .isPositive();
  }

  @Test
  void shouldRefuseACallPastTheBulkheadAtOnce() {
    Scripted s = new Scripted();
    s.hang.set(true);
    responder.serve(Quotes.class, s);
    Quotes quotes =
        caller.client(
            Quotes.class,
            ServiceOptions.defaults().withMaxConcurrentCalls(2).withTimeoutMs(30_000));

    CompletableFuture<Quote> first = quotes.place(new QuoteRequest("A"));
    CompletableFuture<Quote> second = quotes.place(new QuoteRequest("B"));
    await().atMost(10, TimeUnit.SECONDS).until(() -> s.held.size() == 2);

    assertCode(() -> quotes.place(new QuoteRequest("C")).join(), ErrorCode.BULKHEAD_FULL);
    assertThat(s.placeCalls).hasValue(2);

    s.hang.set(false);
    for (CompletableFuture<Quote> f : s.held) {
      f.complete(new Quote("X", 0, List.of()));
    }
    assertThat(first.join().symbol()).isEqualTo("X");
    assertThat(second.join().symbol()).isEqualTo("X");
    assertThat(quotes.place(new QuoteRequest("D")).join().symbol()).isEqualTo("D");
  }
}
