package io.switchboard.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.services.Quotes.Quote;
import io.switchboard.services.Quotes.QuoteRequest;
import io.switchboard.services.avro.AvroQuote;
import io.switchboard.services.avro.AvroQuoteRequest;
import io.switchboard.services.codec.AvroCodec;
import io.switchboard.services.codec.JsonCodec;
import io.switchboard.services.codec.MsgpackCodec;
import io.switchboard.services.codec.ProtobufCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Typed calls end to end through a real server: every codec, and every way a call can go wrong. */
class ServicesEndToEndTest {
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

  /** Quotes that answer from a fixed price list; counts what it is asked. */
  static class QuoteBook implements Quotes {
    final List<String> touched = new CopyOnWriteArrayList<>();
    final ConcurrentLinkedQueue<Long> remainingMs = new ConcurrentLinkedQueue<>();

    @Override
    public CompletableFuture<Quote> get(QuoteRequest request) {
      remainingMs.add(CallContext.current().remainingMs());
      if (request.symbol().equals("BOOM")) {
        throw new IllegalStateException("no price for BOOM");
      }
      return CompletableFuture.completedFuture(
          new Quote(request.symbol(), 101_250_000, List.of("XNAS", "XLON")));
    }

    @Override
    public CompletableFuture<Quote> place(QuoteRequest request) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("market closed"));
    }

    @Override
    public ReplyStream<Quote> history(QuoteRequest request) {
      if (request.symbol().equals("HALF")) {
        return ReplyStream.of(
            LongStream.range(0, 10)
                .mapToObj(
                    i -> {
                      if (i == 5) {
                        throw new IllegalStateException("archive unreadable at " + i);
                      }
                      return new Quote("HALF", i, List.of());
                    }));
      }
      int n = Integer.parseInt(request.symbol().substring(1));
      return ReplyStream.of(
          LongStream.range(0, n).mapToObj(i -> new Quote(request.symbol(), i, List.of("XNAS"))));
    }

    @Override
    public void touch(QuoteRequest request) {
      touched.add(request.symbol());
    }
  }

  static ServiceOptions json() {
    return ServiceOptions.defaults();
  }

  @ParameterizedTest
  @ValueSource(strings = {JsonCodec.CONTENT_TYPE, MsgpackCodec.CONTENT_TYPE})
  void shouldRoundTripARecordInJsonAndMsgpack(String contentType) {
    ServiceOptions options = ServiceOptions.defaults().withContentType(contentType);
    QuoteBook book = new QuoteBook();
    responder.serve(Quotes.class, book, options);
    Quotes quotes = caller.client(Quotes.class, options);

    Quote q = quotes.get(new QuoteRequest("ACME")).join();

    assertThat(q).isEqualTo(new Quote("ACME", 101_250_000, List.of("XNAS", "XLON")));
  }

  @Test
  void shouldRoundTripGeneratedProtobufMessages() {
    ServiceOptions options = ServiceOptions.defaults().withContentType(ProtobufCodec.CONTENT_TYPE);
    responder.serve(
        ProtoQuotes.class,
        r ->
            CompletableFuture.completedFuture(
                io.switchboard.services.proto.Quote.newBuilder()
                    .setSymbol(r.getSymbol())
                    .setPriceMicros(7)
                    .addVenues("XNAS")
                    .build()),
        options);
    ProtoQuotes quotes = caller.client(ProtoQuotes.class, options);

    var q =
        quotes
            .get(io.switchboard.services.proto.QuoteRequest.newBuilder().setSymbol("ACME").build())
            .join();

    assertThat(q.getSymbol()).isEqualTo("ACME");
    assertThat(q.getPriceMicros()).isEqualTo(7);
    assertThat(q.getVenuesList()).containsExactly("XNAS");
  }

  @Test
  void shouldRoundTripAvroRecordsWithTheSchemaFingerprintHeader() {
    ServiceOptions options = ServiceOptions.defaults().withContentType(AvroCodec.CONTENT_TYPE);
    responder.serve(
        AvroQuotes.class,
        r ->
            CompletableFuture.completedFuture(
                AvroQuote.newBuilder()
                    .setSymbol(r.getSymbol())
                    .setPriceMicros(9)
                    .setVenues(List.of("XLON"))
                    .build()),
        options);
    AvroQuotes quotes = caller.client(AvroQuotes.class, options);

    AvroQuote q = quotes.get(AvroQuoteRequest.newBuilder().setSymbol("ACME").build()).join();

    assertThat(q.getSymbol()).isEqualTo("ACME");
    assertThat(q.getPriceMicros()).isEqualTo(9);
    assertThat(q.getVenues()).containsExactly("XLON");
  }

  @Test
  void shouldRefuseACallerInAnotherCodecWithContentTypeMismatch() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes msgpackCaller =
        caller.client(
            Quotes.class, ServiceOptions.defaults().withContentType(MsgpackCodec.CONTENT_TYPE));

    assertThatThrownBy(() -> msgpackCaller.get(new QuoteRequest("ACME")).join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.CONTENT_TYPE_MISMATCH);
              assertThat(e.detail())
                  .contains("service quotes speaks content type application/json")
                  .contains("application/msgpack");
            });
  }

  @Test
  void shouldAnswerAnUnknownContentTypeWithItsCode() {
    responder.serve(Quotes.class, new QuoteBook(), json());

    Reply reply = rawRequest("svc.quotes.get", "application/x-yaml", "symbol: ACME");

    assertError(reply, ErrorCode.UNKNOWN_CONTENT_TYPE, "application/x-yaml");
  }

  @Test
  void shouldRefuseToCreateAProxyForAnUnknownContentType() {
    assertThatThrownBy(
            () ->
                caller.client(
                    Quotes.class, ServiceOptions.defaults().withContentType("text/x-morse")))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.UNKNOWN_CONTENT_TYPE));
  }

  @Test
  void shouldAnswerAPayloadThatDoesNotDecodeWithDecodeFailed() {
    responder.serve(Quotes.class, new QuoteBook(), json());

    Reply reply = rawRequest("svc.quotes.get", JsonCodec.CONTENT_TYPE, "{\"symbol\": ");

    assertError(reply, ErrorCode.DECODE_FAILED, "Quotes$QuoteRequest");
  }

  @Test
  void shouldAnswerAnUnknownMethodWithItsCode() {
    responder.serve(Quotes.class, new QuoteBook(), json());

    Reply reply = rawRequest("svc.quotes.delete", JsonCodec.CONTENT_TYPE, "{}");

    assertError(reply, ErrorCode.UNKNOWN_SERVICE_METHOD, "delete");
  }

  @Test
  void shouldAnswerAnInvalidDeadlineWithItsCode() {
    responder.serve(Quotes.class, new QuoteBook(), json());

    Reply reply =
        callerClient
            .request(
                "svc.quotes.get",
                List.of(
                    header(ServiceHeaders.CONTENT_TYPE, JsonCodec.CONTENT_TYPE),
                    header(ServiceHeaders.DEADLINE, "tomorrow")),
                "{\"symbol\":\"A\"}".getBytes(StandardCharsets.UTF_8),
                Duration.ofSeconds(5))
            .join();

    assertError(reply, ErrorCode.INVALID_DEADLINE, "tomorrow");
  }

  @Test
  void shouldTurnAnExceptionOfTheServiceIntoServiceFailed() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes quotes = caller.client(Quotes.class);

    assertThatThrownBy(() -> quotes.get(new QuoteRequest("BOOM")).join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.SERVICE_FAILED);
              assertThat(e.detail()).contains("svc.quotes.get").contains("no price for BOOM");
            });
    assertThatThrownBy(() -> quotes.place(new QuoteRequest("ACME")).join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.detail()).contains("market closed"));
  }

  @Test
  void shouldLetTheResponderSeeTheRemainingTimeOfTheDeadline() {
    QuoteBook book = new QuoteBook();
    responder.serve(Quotes.class, book, json());
    Quotes quotes = caller.client(Quotes.class, json().withTimeoutMs(3_000));

    quotes.get(new QuoteRequest("ACME")).join();

    assertThat(book.remainingMs.poll()).isBetween(1L, 3_000L);
  }

  @Test
  void shouldDeliverOneWayCallsToOneMemberOfTheGroup() {
    QuoteBook first = new QuoteBook();
    QuoteBook second = new QuoteBook();
    responder.serve(Quotes.class, first, json());
    responder.serve(Quotes.class, second, json());
    Quotes quotes = caller.client(Quotes.class);

    for (int i = 0; i < 20; i++) {
      quotes.touch(new QuoteRequest("S" + i));
    }

    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> first.touched.size() + second.touched.size() == 20);
    assertThat(first.touched).doesNotContainAnyElementsOf(second.touched);
  }

  /** Events of the tests. */
  @Service("ticks")
  interface Ticks {
    void traded(Quote trade);
  }

  @Test
  void shouldDeliverEventsToEveryListener() {
    List<Quote> a = new CopyOnWriteArrayList<>();
    List<Quote> b = new CopyOnWriteArrayList<>();
    responder.listen(Ticks.class, a::add);
    caller.listen(Ticks.class, b::add);
    Ticks ticks = caller.events(Ticks.class);

    ticks.traded(new Quote("ACME", 1, List.of()));

    await().atMost(10, TimeUnit.SECONDS).until(() -> a.size() == 1 && b.size() == 1);
    assertThat(a).containsExactly(new Quote("ACME", 1, List.of()));
    assertThat(b).isEqualTo(a);
  }

  @Test
  void shouldStreamALargeResultInOrderAndEndWithItsCount() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes quotes = caller.client(Quotes.class, json().withTimeoutMs(30_000));
    AtomicLong expected = new AtomicLong();

    long n =
        quotes
            .history(new QuoteRequest("N5000"))
            .forEach(q -> assertThat(q.priceMicros()).isEqualTo(expected.getAndIncrement()))
            .join();

    assertThat(n).isEqualTo(5_000);
    assertThat(expected.get()).isEqualTo(5_000);
  }

  @Test
  void shouldCollectAShortStreamAndRefuseOneLongerThanTheLimit() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes quotes = caller.client(Quotes.class, json().withMaxStreamItems(10));

    assertThat(quotes.history(new QuoteRequest("N3")).toList().join())
        .extracting(Quote::priceMicros)
        .containsExactly(0L, 1L, 2L);
    assertThatThrownBy(() -> quotes.history(new QuoteRequest("N11")).toList().join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.REPLY_STREAM_TOO_LONG));
  }

  @Test
  void shouldFailAStreamWhoseResponderFailsMidway() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes quotes = caller.client(Quotes.class);
    List<Quote> seen = new CopyOnWriteArrayList<>();

    assertThatThrownBy(() -> quotes.history(new QuoteRequest("HALF")).forEach(seen::add).join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.SERVICE_FAILED);
              assertThat(e.detail()).contains("archive unreadable at 5");
            });
    assertThat(seen).hasSize(5);
  }

  @Test
  void shouldEndAStreamThatOutlivesItsDeadlineWithDeadlineExceeded() {
    responder.serve(
        Quotes.class,
        new QuoteBook() {
          @Override
          public ReplyStream<Quote> history(QuoteRequest request) {
            return ReplyStream.of(
                java.util.stream.Stream.iterate(0L, i -> i + 1)
                    .map(i -> new Quote("ENDLESS", i, List.of())));
          }
        },
        json());
    Quotes quotes = caller.client(Quotes.class, json().withTimeoutMs(2_000));
    AtomicLong seen = new AtomicLong();

    assertThatThrownBy(
            () -> quotes.history(new QuoteRequest("X")).forEach(q -> seen.incrementAndGet()).join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED));
    // However far the stream got on this machine, it ended at its deadline, not never.
  }

  @Test
  void shouldNeverSendMoreThanTheCallersWindowAheadOfWhatItTook() {
    AtomicLong produced = new AtomicLong();
    responder.serve(
        Quotes.class,
        new QuoteBook() {
          @Override
          public ReplyStream<Quote> history(QuoteRequest request) {
            return ReplyStream.of(
                LongStream.range(0, 2_000)
                    .mapToObj(i -> new Quote("PACED", produced.incrementAndGet(), List.of())));
          }
        },
        json());
    Quotes quotes = caller.client(Quotes.class, json().withTimeoutMs(60_000));
    AtomicLong consumed = new AtomicLong();
    AtomicLong worstLead = new AtomicLong();

    long n =
        quotes
            .history(new QuoteRequest("X"))
            .forEach(
                q -> {
                  long lead = produced.get() - consumed.incrementAndGet();
                  worstLead.accumulateAndGet(lead, Math::max);
                })
            .join();

    assertThat(n).isEqualTo(2_000);
    assertThat(worstLead.get())
        .as("items produced ahead of the caller")
        .isLessThanOrEqualTo(StreamReceiver.WINDOW);
  }

  @Test
  void shouldStopServingWhenTheRegistrationIsClosed() {
    Registration served = responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes quotes = caller.client(Quotes.class, json().withRetries(1, 1, 1));
    assertThat(quotes.get(new QuoteRequest("A")).join().symbol()).isEqualTo("A");

    served.close();

    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(
            () ->
                quotes.get(new QuoteRequest("A")).handle((q, t) -> Errors.codeOf(t)).join()
                    == ErrorCode.NO_RESPONDERS);
  }

  @Test
  void shouldShareEventsInAQueueGroupWhenListenersAskForOne() {
    List<Quote> a = new CopyOnWriteArrayList<>();
    List<Quote> b = new CopyOnWriteArrayList<>();
    responder.listen(Ticks.class, a::add, json(), "auditors");
    caller.listen(Ticks.class, b::add, json(), "auditors");
    Ticks ticks = caller.events(Ticks.class);

    for (int i = 0; i < 20; i++) {
      ticks.traded(new Quote("S" + i, i, List.of()));
    }

    await().atMost(10, TimeUnit.SECONDS).until(() -> a.size() + b.size() == 20);
    assertThat(a).doesNotContainAnyElementsOf(b);
  }

  static java.util.Set<Thread> serviceThreads() {
    java.util.Set<Thread> out = new java.util.HashSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith("sb-services-")) {
        out.add(t);
      }
    }
    return out;
  }

  @Test
  void shouldStopItsThreadsWhenClosed() {
    java.util.Set<Thread> before = serviceThreads();
    try (Services ownResponder = Services.builder(responderClient).build();
        Services own = Services.builder(callerClient).build()) {
      ownResponder.serve(Quotes.class, new QuoteBook(), json());
      Quotes quotes = own.client(Quotes.class, json().withRetries(3, 1, 5));
      assertThat(quotes.history(new QuoteRequest("N10")).toList().join()).hasSize(10);
      assertThat(serviceThreads()).as("a stream uses a worker").hasSizeGreaterThan(before.size());
    }
    await()
        .atMost(10, TimeUnit.SECONDS)
        .untilAsserted(() -> assertThat(before).containsAll(serviceThreads()));
  }

  @Test
  void shouldFailACallNobodyServesWithNoResponders() {
    Quotes quotes = caller.client(Quotes.class, json().withRetries(1, 1, 1));

    assertThatThrownBy(() -> quotes.get(new QuoteRequest("ACME")).join())
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.NO_RESPONDERS));
  }

  @Test
  void shouldCountCallsByOutcome() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    Quotes quotes = caller.client(Quotes.class);

    quotes.get(new QuoteRequest("ACME")).join();
    quotes.get(new QuoteRequest("BOOM")).exceptionally(t -> null).join();

    assertThat(
            caller
                .meterRegistry()
                .get("switchboard.services.calls")
                .tags("service", "quotes", "method", "get", "outcome", "ok")
                .counter()
                .count())
        .isEqualTo(1);
    assertThat(
            caller
                .meterRegistry()
                .get("switchboard.services.calls")
                .tags("outcome", "SERVICE_FAILED")
                .counter()
                .count())
        .isEqualTo(1);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(
            () ->
                responder
                        .meterRegistry()
                        .find("switchboard.services.served")
                        .tags("outcome", "ok")
                        .counter()
                    != null);
  }

  /** A service with a convenience method of its own. */
  @Service("quotes")
  interface QuotesWithDefault {
    @Idempotent
    CompletableFuture<Quote> get(QuoteRequest request);

    default long priceOf(String symbol) {
      return get(new QuoteRequest(symbol)).join().priceMicros();
    }
  }

  @Test
  void shouldRunDefaultMethodsOfTheInterfaceLocally() {
    responder.serve(Quotes.class, new QuoteBook(), json());
    QuotesWithDefault quotes = caller.client(QuotesWithDefault.class);

    assertThat(quotes.priceOf("ACME")).isEqualTo(101_250_000);
  }

  @Test
  void shouldRefuseAServiceWhoseTypesTheCodecCannotCarry() {
    assertThatThrownBy(
            () ->
                caller.client(
                    Quotes.class,
                    ServiceOptions.defaults().withContentType(ProtobufCodec.CONTENT_TYPE)))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.INVALID_SERVICE_DEFINITION);
              assertThat(e.detail())
                  .contains("Quotes$QuoteRequest, which application/x-protobuf cannot carry");
            });
  }

  @Test
  void shouldRefuseProtobufMessagesWithTheJsonCodec() {
    assertThatThrownBy(() -> caller.client(ProtoQuotes.class))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e ->
                assertThat(e.detail())
                    .contains(
                        "io.switchboard.services.proto.QuoteRequest, which application/json"));
  }

  @Test
  void shouldRejectAnInterfaceThatIsNotAService() {
    interface Bad {
      String notAFuture(String s);
    }
    assertThatThrownBy(() -> caller.client(Bad.class))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.INVALID_SERVICE_DEFINITION);
              assertThat(e.detail()).contains("notAFuture returns String");
            });
  }

  private Reply rawRequest(String subject, String contentType, String body) {
    return callerClient
        .request(
            subject,
            List.of(header(ServiceHeaders.CONTENT_TYPE, contentType)),
            body.getBytes(StandardCharsets.UTF_8),
            Duration.ofSeconds(5))
        .join();
  }

  static Header header(String name, String value) {
    return new Header(name, value.getBytes(StandardCharsets.UTF_8));
  }

  static void assertError(Reply reply, ErrorCode code, String detailPart) {
    Map<String, String> h = Wire.read(reply.headers());
    assertThat(h).containsEntry(ServiceHeaders.ERROR_CODE, Integer.toString(code.number()));
    assertThat(h.get(ServiceHeaders.ERROR)).contains(detailPart);
    assertThat(reply.payload()).isEmpty();
  }
}
