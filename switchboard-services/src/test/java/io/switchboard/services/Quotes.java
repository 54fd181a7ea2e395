package io.switchboard.services;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The service of the tests: quotes as plain Java records (JSON and MessagePack). */
@Service("quotes")
public interface Quotes {
  record QuoteRequest(String symbol) {}

  record Quote(String symbol, long priceMicros, List<String> venues) {}

  /** Reads a quote: safe to retry. */
  @Idempotent
  CompletableFuture<Quote> get(QuoteRequest request);

  /** Places an order: not safe to retry. */
  CompletableFuture<Quote> place(QuoteRequest request);

  /** Every quote of a symbol, oldest first. */
  ReplyStream<Quote> history(QuoteRequest request);

  /** One-way: remember that someone looked. */
  void touch(QuoteRequest request);
}
