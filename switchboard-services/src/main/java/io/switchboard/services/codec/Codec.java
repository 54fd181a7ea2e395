package io.switchboard.services.codec;

import java.lang.reflect.Type;
import java.util.Map;

/**
 * Turns typed values into message payloads and back, for one content type. Implementations must be
 * thread-safe: one instance serves every call of a {@code Services}.
 *
 * <p>Implementations are found with {@link java.util.ServiceLoader} ({@code
 * META-INF/services/io.switchboard.services.codec.Codec}) or registered with {@link
 * Codecs#with(Codec)}. A codec whose library is not on the class path must fail in its constructor
 * (a {@link LinkageError} is enough); {@link Codecs#load()} then skips it.
 *
 * <p>Any exception thrown by {@link #encode} or {@link #decode} becomes {@code ENCODE_FAILED} or
 * {@code DECODE_FAILED} for the caller; a {@link io.switchboard.client.SwitchboardClientException}
 * keeps its own code.
 */
public interface Codec {
  /** The value of the {@code content-type} header this codec writes and reads. */
  String contentType();

  /** Whether values of {@code type} can be encoded and decoded by this codec. */
  boolean supports(Type type);

  /**
   * Encodes {@code value} (of a type {@link #supports} accepts, or null where the codec allows).
   *
   * @param headers headers to send with the payload; a codec may add its own (Avro adds the writer
   *     schema's fingerprint)
   */
  byte[] encode(Object value, Map<String, String> headers) throws Exception;

  /**
   * Decodes {@code payload} into a {@code type}.
   *
   * @param headers the message's headers (single-valued: the last value of each name)
   */
  Object decode(byte[] payload, Type type, Map<String, String> headers) throws Exception;
}
