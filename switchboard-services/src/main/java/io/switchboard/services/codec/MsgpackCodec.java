package io.switchboard.services.codec;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Type;
import java.util.Map;
import org.msgpack.jackson.dataformat.MessagePackFactory;

/**
 * {@code application/msgpack}: MessagePack through msgpack-java's Jackson data format, so the same
 * records and beans as {@link JsonCodec} work, in a smaller binary form. Thread-safe.
 *
 * <p>msgpack's Jackson binding (0.9.x) is built for Jackson 2, which is what this module uses.
 */
public final class MsgpackCodec implements Codec {
  public static final String CONTENT_TYPE = "application/msgpack";

  private final ObjectMapper mapper;

  public MsgpackCodec() {
    this.mapper =
        new ObjectMapper(new MessagePackFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
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
