package io.switchboard.services;

/**
 * The headers typed services put on the wire (docs/services.md, "Wire conventions"). Other
 * languages and the broker read the same names, so they never change.
 */
public final class ServiceHeaders {
  /** The codec of the payload: {@code application/json}, {@code application/x-protobuf}, ... */
  public static final String CONTENT_TYPE = "content-type";

  /**
   * A request's deadline: absolute time in milliseconds since the epoch (UTC), decimal, written by
   * the caller. The broker drops a request whose deadline has passed; a responder refuses one.
   */
  public static final String DEADLINE = "sb-deadline";

  /** On an error reply: the stable error code number ({@code io.switchboard.core.ErrorCode}). */
  public static final String ERROR_CODE = "sb-error-code";

  /** On an error reply: the error's message. */
  public static final String ERROR = "sb-error";

  /** On a streaming request: the subject the responder publishes the stream's items to. */
  public static final String STREAM_TO = "sb-stream-to";

  /** On a stream item: its position in the stream, from 0. */
  public static final String STREAM_SEQ = "sb-stream-seq";

  /** On the stream's completion marker (empty payload): how many items were sent. */
  public static final String STREAM_END = "sb-stream-end";

  /**
   * On a streaming request: how many items the caller takes before it grants more (its window).
   * Without it the responder is paced only by the server's acknowledgements.
   */
  public static final String STREAM_WINDOW = "sb-stream-window";

  /** On a stream's first item: the subject the caller sends its grants to. */
  public static final String STREAM_CREDIT_TO = "sb-stream-credit-to";

  /** On a grant (empty payload, to {@link #STREAM_CREDIT_TO}): how many more items may come. */
  public static final String STREAM_CREDIT = "sb-stream-credit";

  private ServiceHeaders() {}
}
