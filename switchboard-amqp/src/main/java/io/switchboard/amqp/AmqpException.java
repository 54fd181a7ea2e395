package io.switchboard.amqp;

/**
 * A protocol error with AMQP's reply code: a soft error closes the channel it happened on, a hard
 * error the connection (AMQP 0-9-1 section 1.5.2.3, RabbitMQ's codes).
 */
final class AmqpException extends RuntimeException {
  static final int CONTENT_TOO_LARGE = 311;
  static final int NO_ROUTE = 312;
  static final int CONNECTION_FORCED = 320;
  static final int INVALID_PATH = 402;
  static final int ACCESS_REFUSED = 403;
  static final int NOT_FOUND = 404;
  static final int RESOURCE_LOCKED = 405;
  static final int PRECONDITION_FAILED = 406;
  static final int FRAME_ERROR = 501;
  static final int SYNTAX_ERROR = 502;
  static final int COMMAND_INVALID = 503;
  static final int CHANNEL_ERROR = 504;
  static final int UNEXPECTED_FRAME = 505;
  static final int RESOURCE_ERROR = 506;
  static final int NOT_ALLOWED = 530;
  static final int NOT_IMPLEMENTED = 540;
  static final int INTERNAL_ERROR = 541;

  private final int code;
  private final boolean hard;

  private AmqpException(int code, boolean hard, String text) {
    super(text);
    this.code = code;
    this.hard = hard;
  }

  /** Closes the channel. */
  static AmqpException channel(int code, String text) {
    return new AmqpException(code, false, text);
  }

  /** Closes the connection. */
  static AmqpException connection(int code, String text) {
    return new AmqpException(code, true, text);
  }

  int code() {
    return code;
  }

  boolean hard() {
    return hard;
  }

  /** The reply text as sent: the code's name and the problem, at most 255 bytes. */
  String replyText() {
    String name =
        switch (code) {
          case CONTENT_TOO_LARGE -> "CONTENT_TOO_LARGE";
          case NO_ROUTE -> "NO_ROUTE";
          case CONNECTION_FORCED -> "CONNECTION_FORCED";
          case INVALID_PATH -> "INVALID_PATH";
          case ACCESS_REFUSED -> "ACCESS_REFUSED";
          case NOT_FOUND -> "NOT_FOUND";
          case RESOURCE_LOCKED -> "RESOURCE_LOCKED";
          case PRECONDITION_FAILED -> "PRECONDITION_FAILED";
          case FRAME_ERROR -> "FRAME_ERROR";
          case SYNTAX_ERROR -> "SYNTAX_ERROR";
          case COMMAND_INVALID -> "COMMAND_INVALID";
          case CHANNEL_ERROR -> "CHANNEL_ERROR";
          case UNEXPECTED_FRAME -> "UNEXPECTED_FRAME";
          case RESOURCE_ERROR -> "RESOURCE_ERROR";
          case NOT_ALLOWED -> "NOT_ALLOWED";
          case NOT_IMPLEMENTED -> "NOT_IMPLEMENTED";
          default -> "INTERNAL_ERROR";
        };
    String text = name + " - " + getMessage();
    return text.length() > 200 ? text.substring(0, 200) : text;
  }
}
