package io.switchboard.services;

import io.switchboard.services.avro.AvroQuote;
import io.switchboard.services.avro.AvroQuoteRequest;
import java.util.concurrent.CompletableFuture;

/** The quote service with Avro records generated from src/test/avro. */
@Service("avro-quotes")
public interface AvroQuotes {
  @Idempotent
  CompletableFuture<AvroQuote> get(AvroQuoteRequest request);
}
