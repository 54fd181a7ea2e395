package io.switchboard.core;

import java.util.List;
import java.util.Objects;

/**
 * A message as every protocol sees it: the subject it was published on, an optional key, headers,
 * the payload, a timestamp, and for requests the subject a reply goes to. Immutable by contract:
 * the arrays it holds are never modified once the message is built (they are shared, not copied).
 *
 * @param subject where it was published
 * @param key partitioning and compaction key, or {@code null}
 * @param headers headers in order (names may repeat)
 * @param payload the body, never null (may be empty)
 * @param timestampMs milliseconds since the epoch
 * @param replyTo the subject a reply should be published on, or {@code null}
 */
public record Message(
    String subject,
    byte[] key,
    List<Header> headers,
    byte[] payload,
    long timestampMs,
    String replyTo) {

  /**
   * Header giving a message's time to live in milliseconds (decimal) from its timestamp: a consumer
   * does not deliver it after that.
   */
  public static final String TTL_HEADER = "sb-ttl-ms";

  /** Header carrying the correlation id of a request and of its reply. */
  public static final String CORRELATION_ID = "sb-correlation-id";

  public Message {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(payload, "payload");
    headers = headers == null ? List.of() : List.copyOf(headers);
  }

  /** A message with just a subject and payload. */
  public static Message of(String subject, byte[] payload, long timestampMs) {
    return new Message(subject, null, List.of(), payload, timestampMs, null);
  }

  /** The value of the first header named {@code name}, or {@code null}. */
  public byte[] header(String name) {
    for (Header h : headers) {
      if (h.key().equals(name)) {
        return h.value();
      }
    }
    return null;
  }

  /** A copy with {@code subject} in place of this one's. */
  public Message withSubject(String newSubject) {
    return new Message(newSubject, key, headers, payload, timestampMs, replyTo);
  }

  /** A copy with a reply subject. */
  public Message withReplyTo(String newReplyTo) {
    return new Message(subject, key, headers, payload, timestampMs, newReplyTo);
  }

  /** A copy that expires {@code ttlMs} after its timestamp. */
  public Message withTtl(long ttlMs) {
    return withHeader(
        TTL_HEADER, Long.toString(ttlMs).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** A copy with one more header. */
  public Message withHeader(String name, byte[] value) {
    List<Header> more = new java.util.ArrayList<>(headers);
    more.add(new Header(name, value));
    return new Message(subject, key, more, payload, timestampMs, replyTo);
  }

  @Override
  public String toString() {
    return "Message["
        + subject
        + ", "
        + payload.length
        + " B"
        + (replyTo == null ? "" : ", reply " + replyTo)
        + "]";
  }
}
