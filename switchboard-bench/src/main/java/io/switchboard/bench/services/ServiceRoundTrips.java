package io.switchboard.bench.services;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.services.AvroQuotes;
import io.switchboard.services.ProtoQuotes;
import io.switchboard.services.Quotes;
import io.switchboard.services.ReplyStream;
import io.switchboard.services.ServiceOptions;
import io.switchboard.services.Services;
import io.switchboard.services.avro.AvroQuote;
import io.switchboard.services.avro.AvroQuoteRequest;
import io.switchboard.services.codec.AvroCodec;
import io.switchboard.services.codec.Codec;
import io.switchboard.services.codec.Codecs;
import io.switchboard.services.codec.JsonCodec;
import io.switchboard.services.codec.MsgpackCodec;
import io.switchboard.services.codec.ProtobufCodec;
import io.switchboard.services.proto.Quote;
import io.switchboard.services.proto.QuoteRequest;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * Typed round trips per second per codec against a running server: one responder client and one
 * caller client in this process, {@code inflight} calls outstanding at once, each call a quote
 * request answered with a quote of {@code venues} venue codes. Prints one line per codec (and a
 * line for untyped request/reply of the same JSON bytes, the floor the services layer adds to).
 *
 * <pre>
 * java -cp switchboard-bench.jar io.switchboard.bench.services.ServiceRoundTrips \
 *     ADDRESS [seconds=10] [inflight=1,32] [venues=3]
 * java -cp switchboard-bench.jar io.switchboard.bench.services.ServiceRoundTrips --sizes
 * </pre>
 */
public final class ServiceRoundTrips {
  private static final List<String> CODECS =
      List.of(
          JsonCodec.CONTENT_TYPE,
          MsgpackCodec.CONTENT_TYPE,
          ProtobufCodec.CONTENT_TYPE,
          AvroCodec.CONTENT_TYPE);

  /** Whether results are printed (not during the warm-up pass). Main thread only. */
  private static boolean quiet;

  private ServiceRoundTrips() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--sizes")) {
      sizes();
      return;
    }
    String address = args[0];
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    String[] inflights = (args.length > 2 ? args[2] : "1,32").split(",");
    int venues = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    System.out.printf(
        "%-24s %8s %12s %10s %10s %10s%n",
        "codec", "inflight", "calls/s", "p50 us", "p99 us", "p99.9 us");
    // Warm the shared path (client, server, proxies) for every codec before any line is printed,
    // so the first codec measured does not pay for the JIT of all of them.
    quiet = true;
    for (String contentType : CODECS) {
      run(address, contentType, 2, 8, venues);
    }
    runRaw(address, 2, 8, venues);
    quiet = false;
    for (String inflight : inflights) {
      int n = Integer.parseInt(inflight);
      for (String contentType : CODECS) {
        run(address, contentType, seconds, n, venues);
      }
      runRaw(address, seconds, n, venues);
    }
  }

  /** Bytes on the wire per codec for the same quote, with 3 and with 100 venue codes. */
  static void sizes() throws Exception {
    Codecs codecs = Codecs.load();
    System.out.printf("%-24s %10s %10s%n", "codec", "3 venues", "100 venues");
    for (String contentType : CODECS) {
      Codec codec = codecs.get(contentType);
      int small = codec.encode(SampleQuotes.quote(contentType, 3), new HashMap<>()).length;
      int large = codec.encode(SampleQuotes.quote(contentType, 100), new HashMap<>()).length;
      System.out.printf("%-24s %10d %10d%n", contentType, small, large);
    }
  }

  private static void run(String address, String contentType, int seconds, int inflight, int venues)
      throws Exception {
    ServiceOptions options =
        ServiceOptions.defaults()
            .withContentType(contentType)
            .withTimeoutMs(30_000)
            .withMaxConcurrentCalls(Math.max(1_024, inflight));
    try (SwitchboardClient serverSide = SwitchboardClient.connect(address);
        SwitchboardClient clientSide = SwitchboardClient.connect(address);
        Services responder = Services.builder(serverSide).build();
        Services caller = Services.builder(clientSide).build()) {
      Supplier<CompletableFuture<?>> call;
      Object reply = SampleQuotes.quote(contentType, venues);
      switch (contentType) {
        case ProtobufCodec.CONTENT_TYPE -> {
          responder.serve(
              ProtoQuotes.class, r -> CompletableFuture.completedFuture((Quote) reply), options);
          ProtoQuotes proxy = caller.client(ProtoQuotes.class, options);
          QuoteRequest request = QuoteRequest.newBuilder().setSymbol("ACME").build();
          call = () -> proxy.get(request);
        }
        case AvroCodec.CONTENT_TYPE -> {
          responder.serve(
              AvroQuotes.class, r -> CompletableFuture.completedFuture((AvroQuote) reply), options);
          AvroQuotes proxy = caller.client(AvroQuotes.class, options);
          AvroQuoteRequest request = new AvroQuoteRequest("ACME");
          call = () -> proxy.get(request);
        }
        default -> {
          responder.serve(Quotes.class, new FixedQuotes((Quotes.Quote) reply), options);
          Quotes proxy = caller.client(Quotes.class, options);
          Quotes.QuoteRequest request = new Quotes.QuoteRequest("ACME");
          call = () -> proxy.get(request);
        }
      }
      measure(contentType, seconds, inflight, call);
    }
  }

  /** Untyped request/reply of the JSON bytes: the client and server without the services layer. */
  private static void runRaw(String address, int seconds, int inflight, int venues)
      throws Exception {
    byte[] request = "{\"symbol\":\"ACME\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] answer =
        new JsonCodec().encode(SampleQuotes.quote(JsonCodec.CONTENT_TYPE, venues), new HashMap<>());
    try (SwitchboardClient serverSide = SwitchboardClient.connect(address);
        SwitchboardClient clientSide = SwitchboardClient.connect(address)) {
      serverSide.subscribe("raw.quotes", "raw", m -> serverSide.reply(m, answer), null);
      measure(
          "raw request/reply",
          seconds,
          inflight,
          () -> clientSide.request("raw.quotes", request, Duration.ofSeconds(30)));
    }
  }

  private static void measure(
      String label, int seconds, int inflight, Supplier<CompletableFuture<?>> call)
      throws Exception {
    // Warm up for a third of the measured time (at least 2 s), then measure.
    loop(Math.max(2, seconds / 3), inflight, call, null);
    Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
    long calls = loop(seconds, inflight, call, latency);
    if (quiet) {
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "%-24s %8d %12.0f %10.0f %10.0f %10.0f%n",
        label,
        inflight,
        calls / (double) seconds,
        latency.getValueAtPercentile(50) / 1e3,
        latency.getValueAtPercentile(99) / 1e3,
        latency.getValueAtPercentile(99.9) / 1e3);
  }

  private static long loop(
      int seconds, int inflight, Supplier<CompletableFuture<?>> call, Histogram latency)
      throws InterruptedException {
    Semaphore slots = new Semaphore(inflight);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long calls = 0;
    while (System.nanoTime() < end) {
      slots.acquire();
      long start = System.nanoTime();
      call.get()
          .whenComplete(
              (v, err) -> {
                if (err != null) {
                  throw new IllegalStateException("a benchmark call failed", err);
                }
                if (latency != null) {
                  synchronized (latency) {
                    latency.recordValue(System.nanoTime() - start);
                  }
                }
                slots.release();
              });
      calls++;
    }
    slots.acquire(inflight); // let the last calls finish
    return calls;
  }

  /** Answers every quote request with the same quote. */
  private record FixedQuotes(Quotes.Quote quote) implements Quotes {
    @Override
    public CompletableFuture<Quote> get(QuoteRequest request) {
      return CompletableFuture.completedFuture(quote);
    }

    @Override
    public CompletableFuture<Quote> place(QuoteRequest request) {
      return CompletableFuture.completedFuture(quote);
    }

    @Override
    public ReplyStream<Quote> history(QuoteRequest request) {
      return ReplyStream.of(List.of(quote));
    }

    @Override
    public void touch(QuoteRequest request) {}
  }
}
