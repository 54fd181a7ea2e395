package io.switchboard.services;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.services.codec.Codec;
import java.lang.reflect.Type;
import java.util.Map;

/** Encoding and decoding through a codec, with every failure turned into its code. Stateless. */
final class Coding {
  private Coding() {}

  /**
   * Encodes {@code value}; the codec may add headers to {@code headers}.
   *
   * @throws SwitchboardClientException ENCODE_FAILED
   */
  static byte[] encode(Codec codec, Object value, Map<String, String> headers) {
    try {
      return codec.encode(value, headers);
    } catch (SwitchboardClientException e) {
      throw e;
    } catch (Exception | LinkageError e) {
      throw Errors.of(
          ErrorCode.ENCODE_FAILED,
          value == null ? "null" : value.getClass().getName(),
          codec.contentType(),
          Errors.describe(e));
    }
  }

  /**
   * Decodes a payload received on {@code subject} into a {@code type}, after checking that it is
   * labelled with {@code codec}'s content type.
   *
   * @param side who is decoding, for the mismatch message ("the caller", "service x")
   * @throws SwitchboardClientException CONTENT_TYPE_MISMATCH, DECODE_FAILED, or the codec's own
   */
  static Object decode(
      Codec codec,
      String side,
      String subject,
      Map<String, String> headers,
      byte[] payload,
      Type type) {
    String contentType = headers.get(ServiceHeaders.CONTENT_TYPE);
    if (!codec.contentType().equals(contentType)) {
      throw Errors.of(
          ErrorCode.CONTENT_TYPE_MISMATCH,
          side,
          codec.contentType(),
          subject,
          contentType == null ? "not labelled (no content-type header)" : contentType);
    }
    if (type == Void.class || type == void.class) {
      return null;
    }
    try {
      return codec.decode(payload, type, headers);
    } catch (SwitchboardClientException e) {
      throw e;
    } catch (Exception | LinkageError | AssertionError e) {
      throw Errors.of(
          ErrorCode.DECODE_FAILED,
          payload.length,
          subject,
          type.getTypeName(),
          codec.contentType(),
          Errors.describe(e));
    }
  }
}
