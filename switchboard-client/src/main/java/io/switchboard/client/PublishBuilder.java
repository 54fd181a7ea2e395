package io.switchboard.client;

import io.switchboard.core.Header;
import io.switchboard.protocol.frame.Publish;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Describes one publish: subject, payload, and optionally headers, key, reply subject and the
 * broker's conditions. Not thread-safe; build on one thread, then hand to {@link
 * SwitchboardClient#publishAsync(PublishBuilder)}.
 */
public final class PublishBuilder {
  private final String subject;
  private final byte[] payload;
  private final List<Header> headers = new ArrayList<>();
  private byte[] key;
  private String replyTo;
  private String expectedStream;
  private String messageId;
  private long expectedLastSubjectOffset = Publish.NO_EXPECTATION;
  private boolean noAck;

  private PublishBuilder(String subject, byte[] payload) {
    this.subject = subject;
    this.payload = payload;
  }

  /** A publish of {@code payload} to {@code subject}. */
  public static PublishBuilder to(String subject, byte[] payload) {
    return new PublishBuilder(subject, payload);
  }

  /** A publish of UTF-8 {@code text} to {@code subject}. */
  public static PublishBuilder to(String subject, String text) {
    return new PublishBuilder(subject, text.getBytes(StandardCharsets.UTF_8));
  }

  public PublishBuilder header(String name, byte[] value) {
    headers.add(new Header(name, value));
    return this;
  }

  public PublishBuilder header(String name, String value) {
    return header(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /** The partitioning (and compaction) key. */
  public PublishBuilder key(byte[] value) {
    key = value;
    return this;
  }

  public PublishBuilder replyTo(String value) {
    replyTo = value;
    return this;
  }

  /** Fail with STREAM_MISMATCH unless this stream captures the subject. */
  public PublishBuilder expectStream(String value) {
    expectedStream = value;
    return this;
  }

  /** De-duplicate by this id within the stream's window. */
  public PublishBuilder messageId(String value) {
    messageId = value;
    return this;
  }

  /**
   * Store only if the subject's last offset is this (-1: no message yet); else PUBLISH_CONFLICT.
   */
  public PublishBuilder expectLastOffset(long offset) {
    expectedLastSubjectOffset = offset;
    return this;
  }

  /** Deliver at {@code epochMs} rather than now (kept on disk by the stream until then). */
  public PublishBuilder deliverAt(long epochMs) {
    return header("sb-deliver-at", Long.toString(epochMs));
  }

  /** Fire and forget: the server sends no acknowledgement, only an error if it fails. */
  public PublishBuilder noAck() {
    noAck = true;
    return this;
  }

  /** Where it goes (tracing names its span by it). */
  String subject() {
    return subject;
  }

  /** The headers so far, for the client's tracing to add the trace context to. */
  List<Header> headerList() {
    return headers;
  }

  /** Whether a message id was set explicitly. */
  boolean hasMessageId() {
    return messageId != null;
  }

  Publish build(int requestId, String autoMessageId) {
    return new Publish(
        requestId,
        noAck,
        subject,
        replyTo,
        headers,
        key,
        payload,
        expectedStream,
        messageId != null ? messageId : autoMessageId,
        expectedLastSubjectOffset,
        null,
        0);
  }
}
