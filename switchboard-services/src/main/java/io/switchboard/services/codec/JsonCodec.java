package io.switchboard.services.codec;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Type;
import java.util.Map;

/**
 * {@code application/json} with Jackson: records, beans, collections and maps. Thread-safe.
 *
 * <p>Unknown properties are ignored, so a responder may add fields to a reply without breaking
 * older callers (the tolerant reader); a payload that is not JSON, or whose JSON does not fit the
 * type, fails to decode.
 */
public final class JsonCodec implements Codec {
  public static final String CONTENT_TYPE = "application/json";

  private final ObjectMapper mapper;

  public JsonCodec() {
    this(
        new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true));
  }

  /** A JSON codec on the application's own (configured) mapper. */
  public JsonCodec(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  @Override
  public String contentType() {
    return CONTENT_TYPE;
  }

  /** Anything Jackson maps, except Protobuf messages and Avro records, which have their own. */
  @Override
  public boolean supports(Type type) {
    return !SchemaTypes.isSchemaGenerated(type);
  }

  @Override
  public byte[] encode(Object value, Map<String, String> headers) throws Exception {
    return mapper.writeValueAsBytes(value);
  }

  @Override
  public Object decode(byte[] payload, Type type, Map<String, String> headers) throws Exception {
    JavaType javaType = mapper.getTypeFactory().constructType(type);
    return mapper.readValue(payload, javaType);
  }
}
