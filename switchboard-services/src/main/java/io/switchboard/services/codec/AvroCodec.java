package io.switchboard.services.codec;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * {@code application/avro}: Avro binary encoding of a record, with a reference to its writer schema
 * in header {@value #FINGERPRINT_HEADER}. Thread-safe.
 *
 * <p>The reference is the writer schema's 64-bit Rabin fingerprint of its parsing canonical form
 * ({@link SchemaNormalization#parsingFingerprint64}, the fingerprint Avro's single-object encoding
 * uses), written as 16 lowercase hex digits. The payload itself is plain Avro binary, so the reader
 * must know the writer schema: when the fingerprint is the reader's own schema it decodes directly;
 * otherwise it looks the writer schema up among the schemas this codec has seen (every schema it
 * encoded or decoded with, and those given to {@link #register}) and resolves it against the
 * reader's schema with Avro's rules (an older or newer version of the record). An unknown
 * fingerprint is {@code UNKNOWN_SCHEMA}, never a guess.
 *
 * <p>Types: generated {@link SpecificRecord} classes, and {@link GenericRecord} (decoded with the
 * writer schema, which must then be registered).
 */
public final class AvroCodec implements Codec {
  public static final String CONTENT_TYPE = "application/avro";

  /** Header carrying the writer schema's fingerprint (16 lowercase hex digits). */
  public static final String FINGERPRINT_HEADER = "sb-avro-fingerprint";

  /** Known schemas, by fingerprint. Bounded: schemas are few; past this new ones are refused. */
  static final int MAX_SCHEMAS = 4096;

  private final Map<Long, Schema> schemas = new ConcurrentHashMap<>();

  private static final ClassValue<Schema> SPECIFIC_SCHEMAS =
      new ClassValue<>() {
        @Override
        protected Schema computeValue(Class<?> type) {
          return SpecificData.get().getSchema(type);
        }
      };

  public AvroCodec() {
    // Fails with NoClassDefFoundError when Avro is missing: Codecs.load() skips us.
    Schema.class.getName();
  }

  @Override
  public String contentType() {
    return CONTENT_TYPE;
  }

  @Override
  public boolean supports(Type type) {
    return type instanceof Class<?> c
        && (SpecificRecord.class.isAssignableFrom(c) || GenericRecord.class == c);
  }

  /** Makes {@code schema} known as a writer schema; returns its fingerprint. */
  public long register(Schema schema) {
    long fp = SchemaNormalization.parsingFingerprint64(schema);
    if (!schemas.containsKey(fp)) {
      if (schemas.size() >= MAX_SCHEMAS) {
        throw new IllegalStateException(
            MAX_SCHEMAS + " Avro schemas are registered (the limit); " + schema.getFullName());
      }
      schemas.putIfAbsent(fp, schema);
    }
    return fp;
  }

  /** The fingerprint as the header writes it. */
  public static String fingerprintText(long fingerprint) {
    return String.format("%016x", fingerprint);
  }

  @Override
  public byte[] encode(Object value, Map<String, String> headers) throws Exception {
    if (!(value instanceof GenericContainer record)) {
      throw new IllegalArgumentException(
          (value == null ? "null" : value.getClass().getName()) + " is not an Avro record");
    }
    Schema schema = record.getSchema();
    headers.put(FINGERPRINT_HEADER, fingerprintText(register(schema)));
    ByteArrayOutputStream out = new ByteArrayOutputStream(128);
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    if (value instanceof SpecificRecord) {
      new SpecificDatumWriter<Object>(schema).write(value, encoder);
    } else {
      new GenericDatumWriter<Object>(schema).write(value, encoder);
    }
    encoder.flush();
    return out.toByteArray();
  }

  @Override
  public Object decode(byte[] payload, Type type, Map<String, String> headers) throws Exception {
    if (!supports(type)) {
      throw new IllegalArgumentException(type.getTypeName() + " is not an Avro record type");
    }
    String text = headers.get(FINGERPRINT_HEADER);
    if (text == null) {
      throw new IllegalArgumentException("no " + FINGERPRINT_HEADER + " header names the schema");
    }
    long fp;
    try {
      fp = Long.parseUnsignedLong(text, 16);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          FINGERPRINT_HEADER + " \"" + text + "\" is not 16 hex digits", e);
    }
    Class<?> c = (Class<?>) type;
    Schema reader = c == GenericRecord.class ? null : SPECIFIC_SCHEMAS.get(c);
    Schema writer;
    if (reader != null && register(reader) == fp) {
      writer = reader;
    } else {
      writer = schemas.get(fp);
      if (writer == null) {
        throw new SwitchboardClientException(
            ErrorCode.UNKNOWN_SCHEMA.number(), ErrorCode.UNKNOWN_SCHEMA.format(text));
      }
    }
    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(payload, null);
    Object value =
        reader == null
            ? new GenericDatumReader<Object>(writer).read(null, decoder)
            : new SpecificDatumReader<Object>(writer, reader).read(null, decoder);
    if (!decoder.isEnd()) {
      throw new IllegalArgumentException(
          "bytes left over after the record: not Avro binary of " + writer.getFullName());
    }
    return value;
  }
}
