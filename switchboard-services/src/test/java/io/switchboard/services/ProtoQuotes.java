package io.switchboard.services;

import io.switchboard.services.proto.Quote;
import io.switchboard.services.proto.QuoteRequest;
import java.util.concurrent.CompletableFuture;

/** The quote service with Protobuf messages generated from src/test/proto/quotes.proto. */
@Service("proto-quotes")
public interface ProtoQuotes {
  @Idempotent
  CompletableFuture<Quote> get(QuoteRequest request);
}
