package io.switchboard.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.services.Quotes.Quote;
import io.switchboard.services.avro.AvroQuote;
import io.switchboard.services.codec.AvroCodec;
import io.switchboard.services.codec.Codec;
import io.switchboard.services.codec.Codecs;
import io.switchboard.services.codec.JsonCodec;
import io.switchboard.services.codec.MsgpackCodec;
import io.switchboard.services.codec.ProtobufCodec;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * Every codec: the same quote, generated, survives encode and decode; bad payloads and foreign
 * schemas fail with their codes.
 */
class CodecRoundTripTest {
  static final Codecs CODECS = Codecs.load();

  @Provide
  Arbitrary<Quote> quotes() {
    // Text without lone surrogates: UTF-8 (and so JSON, MessagePack, Protobuf and Avro strings)
    // cannot carry them, which is not a codec's fault.
    Arbitrary<String> text =
        Arbitraries.strings().withCharRange('\u0000', '\uD7FF').ofMaxLength(40);
    return Combinators.combine(text, Arbitraries.longs(), text.list().ofMaxSize(6)).as(Quote::new);
  }

  static Object roundTrip(Codec codec, Object value, Class<?> type) throws Exception {
    Map<String, String> headers = new HashMap<>();
    headers.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
    byte[] bytes = codec.encode(value, headers);
    return Coding.decode(codec, "test", "svc.t.m", headers, bytes, type);
  }

  @Example
  void shouldFindEveryCodecOnTheClassPath() {
    assertThat(CODECS.contentTypes())
        .containsExactlyInAnyOrder(
            JsonCodec.CONTENT_TYPE,
            ProtobufCodec.CONTENT_TYPE,
            AvroCodec.CONTENT_TYPE,
            MsgpackCodec.CONTENT_TYPE);
  }

  @Property
  void shouldRoundTripAnyQuoteInJson(@ForAll("quotes") Quote q) throws Exception {
    assertThat(roundTrip(CODECS.get(JsonCodec.CONTENT_TYPE), q, Quote.class)).isEqualTo(q);
  }

  @Property
  void shouldRoundTripAnyQuoteInMsgpack(@ForAll("quotes") Quote q) throws Exception {
    assertThat(roundTrip(CODECS.get(MsgpackCodec.CONTENT_TYPE), q, Quote.class)).isEqualTo(q);
  }

  @Property
  void shouldRoundTripAnyQuoteInProtobuf(@ForAll("quotes") Quote q) throws Exception {
    var message =
        io.switchboard.services.proto.Quote.newBuilder()
            .setSymbol(q.symbol())
            .setPriceMicros(q.priceMicros())
            .addAllVenues(q.venues())
            .build();
    assertThat(
            roundTrip(
                CODECS.get(ProtobufCodec.CONTENT_TYPE),
                message,
                io.switchboard.services.proto.Quote.class))
        .isEqualTo(message);
  }

  @Property
  void shouldRoundTripAnyQuoteInAvro(@ForAll("quotes") Quote q) throws Exception {
    AvroQuote record =
        AvroQuote.newBuilder()
            .setSymbol(q.symbol())
            .setPriceMicros(q.priceMicros())
            .setVenues(q.venues())
            .build();
    assertThat(roundTrip(CODECS.get(AvroCodec.CONTENT_TYPE), record, AvroQuote.class))
        .isEqualTo(record);
  }

  @Property
  void shouldFailEveryTruncatedMsgpackOrAvroPayloadWithDecodeFailed(@ForAll("quotes") Quote q)
      throws Exception {
    for (Codec codec :
        List.of(CODECS.get(MsgpackCodec.CONTENT_TYPE), CODECS.get(AvroCodec.CONTENT_TYPE))) {
      Object value =
          codec instanceof AvroCodec
              ? AvroQuote.newBuilder()
                  .setSymbol(q.symbol())
                  .setPriceMicros(q.priceMicros())
                  .setVenues(q.venues())
                  .build()
              : q;
      Map<String, String> headers = new HashMap<>();
      headers.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
      byte[] bytes = codec.encode(value, headers);
      byte[] cut = Arrays.copyOf(bytes, bytes.length - 1);
      assertThatThrownBy(
              () -> Coding.decode(codec, "test", "svc.t.m", headers, cut, value.getClass()))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.DECODE_FAILED));
    }
  }

  @Example
  void shouldRefuseAPayloadLabelledWithAnotherCodec() {
    Map<String, String> headers = Map.of(ServiceHeaders.CONTENT_TYPE, JsonCodec.CONTENT_TYPE);
    assertThatThrownBy(
            () ->
                Coding.decode(
                    CODECS.get(MsgpackCodec.CONTENT_TYPE),
                    "the caller",
                    "svc.t.m",
                    headers,
                    "{}".getBytes(),
                    Quote.class))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.CONTENT_TYPE_MISMATCH);
              assertThat(e.detail())
                  .isEqualTo(
                      "the caller speaks content type application/msgpack, but the message on"
                          + " \"svc.t.m\" is application/json: caller and responder must use the"
                          + " same codec");
            });
  }

  @Example
  void shouldFailGarbageAsProtobufWithDecodeFailed() {
    Map<String, String> headers = Map.of(ServiceHeaders.CONTENT_TYPE, ProtobufCodec.CONTENT_TYPE);
    assertThatThrownBy(
            () ->
                Coding.decode(
                    CODECS.get(ProtobufCodec.CONTENT_TYPE),
                    "the caller",
                    "svc.t.m",
                    headers,
                    new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF},
                    io.switchboard.services.proto.Quote.class))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.DECODE_FAILED));
  }

  /** Version 1 of the quote record: no venues yet. */
  static final Schema QUOTE_V1 =
      SchemaBuilder.record("AvroQuote")
          .namespace("io.switchboard.services.avro")
          .fields()
          .requiredString("symbol")
          .requiredLong("priceMicros")
          .endRecord();

  static GenericRecord quoteV1() {
    GenericRecord old = new GenericData.Record(QUOTE_V1);
    old.put("symbol", "ACME");
    old.put("priceMicros", 5L);
    return old;
  }

  @Example
  void shouldReadAnOlderAvroSchemaOnceItIsKnown() throws Exception {
    AvroCodec writer = new AvroCodec();
    AvroCodec reader = new AvroCodec();
    Map<String, String> headers = new HashMap<>();
    headers.put(ServiceHeaders.CONTENT_TYPE, AvroCodec.CONTENT_TYPE);
    byte[] bytes = writer.encode(quoteV1(), headers);

    assertThatThrownBy(() -> reader.decode(bytes, AvroQuote.class, headers))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.UNKNOWN_SCHEMA);
              assertThat(e.detail()).contains(headers.get(AvroCodec.FINGERPRINT_HEADER));
            });

    reader.register(QUOTE_V1);
    AvroQuote q = (AvroQuote) reader.decode(bytes, AvroQuote.class, headers);
    assertThat(q.getSymbol()).isEqualTo("ACME");
    assertThat(q.getPriceMicros()).isEqualTo(5);
    assertThat(q.getVenues()).as("the new field's default").isEmpty();
  }

  @Example
  void shouldDecodeAGenericRecordWithItsWriterSchema() throws Exception {
    AvroCodec codec = new AvroCodec();
    Map<String, String> headers = new HashMap<>();
    byte[] bytes = codec.encode(quoteV1(), headers);

    GenericRecord back = (GenericRecord) codec.decode(bytes, GenericRecord.class, headers);

    assertThat(back.get("symbol").toString()).isEqualTo("ACME");
    assertThat(back.get("priceMicros")).isEqualTo(5L);
  }

  @Example
  void shouldRefuseAvroWithoutAFingerprint() {
    Map<String, String> headers = Map.of(ServiceHeaders.CONTENT_TYPE, AvroCodec.CONTENT_TYPE);
    assertThatThrownBy(
            () ->
                Coding.decode(
                    CODECS.get(AvroCodec.CONTENT_TYPE),
                    "the caller",
                    "svc.t.m",
                    headers,
                    new byte[] {2, 65, 10},
                    AvroQuote.class))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.DECODE_FAILED);
              assertThat(e.detail()).contains("no sb-avro-fingerprint header");
            });
  }

  @Example
  void shouldFailToEncodeAValueTheCodecCannotCarry() {
    assertThatThrownBy(
            () ->
                Coding.encode(
                    CODECS.get(ProtobufCodec.CONTENT_TYPE),
                    new Quote("A", 1, List.of()),
                    new HashMap<>()))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.ENCODE_FAILED));
  }
}
