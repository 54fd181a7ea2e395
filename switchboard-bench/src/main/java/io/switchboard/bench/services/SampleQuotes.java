package io.switchboard.bench.services;

import io.switchboard.services.Quotes;
import io.switchboard.services.avro.AvroQuote;
import io.switchboard.services.codec.AvroCodec;
import io.switchboard.services.codec.JsonCodec;
import io.switchboard.services.codec.MsgpackCodec;
import io.switchboard.services.codec.ProtobufCodec;
import io.switchboard.services.proto.Quote;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The same quote in each codec's own type: symbol {@code "ACME"}, price 101,250,000 micros, and
 * {@code venues} venue codes ({@code "XV00"}, {@code "XV01"}, ...). Stateless.
 */
final class SampleQuotes {
  private SampleQuotes() {}

  static List<String> venues(int n) {
    return IntStream.range(0, n).mapToObj(i -> String.format("XV%02d", i)).toList();
  }

  /** The quote as {@code contentType}'s codec takes it. */
  static Object quote(String contentType, int venues) {
    List<String> v = venues(venues);
    switch (contentType) {
      case JsonCodec.CONTENT_TYPE:
      case MsgpackCodec.CONTENT_TYPE:
        return new Quotes.Quote("ACME", 101_250_000, v);
      case ProtobufCodec.CONTENT_TYPE:
        return Quote.newBuilder()
            .setSymbol("ACME")
            .setPriceMicros(101_250_000)
            .addAllVenues(v)
            .build();
      case AvroCodec.CONTENT_TYPE:
        return AvroQuote.newBuilder()
            .setSymbol("ACME")
            .setPriceMicros(101_250_000)
            .setVenues(v)
            .build();
      default:
        throw new IllegalArgumentException("no sample for " + contentType);
    }
  }

  /** The Java type the decoder is asked for. */
  static Class<?> type(String contentType) {
    return quote(contentType, 0).getClass();
  }
}
