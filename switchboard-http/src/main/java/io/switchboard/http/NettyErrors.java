package io.switchboard.http;

import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;

/**
 * What a Netty decoding failure means, in the client's terms. Netty's messages carry Java class
 * names ({@code java.lang.IllegalArgumentException: No colon found}) and its own wording; the
 * problem document says which rule of HTTP the request broke instead, and the cause stays in the
 * debug log. Stateless, thread-safe.
 */
final class NettyErrors {
  private NettyErrors() {}

  /** Why the HTTP decoder refused a request (the cause it put in the decoder result). */
  static String request(Throwable cause) {
    if (cause instanceof TooLongHttpLineException) {
      return "request line too long";
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return "headers too large";
    }
    if (cause instanceof TooLongFrameException) {
      return "too long";
    }
    String m = cause == null || cause.getMessage() == null ? "" : cause.getMessage();
    String name = cause == null ? "" : cause.getClass().getSimpleName();
    if (name.startsWith("InvalidChunk") || m.toLowerCase(java.util.Locale.ROOT).contains("chunk")) {
      return "malformed chunked body (each chunk is a hex size line, the data, then CRLF)";
    }
    if (name.equals("InvalidLineSeparatorException")) {
      return "lines must end with CRLF";
    }
    if (m.startsWith("invalid version format")
        || m.startsWith("Invalid version number")
        || m.startsWith("text is empty")
        || m.contains("protocolName")) {
      return "the request line is not METHOD TARGET HTTP/1.1";
    }
    if (m.startsWith("Illegal character in request line")
        || m.startsWith("The HTTP method name")
        || m.startsWith("The URI contain")
        || m.startsWith("Invalid separator")
        || m.contains("initialLine")) {
      return "the request line is not METHOD TARGET HTTP/1.1 (one space between each, no"
          + " control characters)";
    }
    if (m.startsWith("No colon found")) {
      return "a header line has no colon";
    }
    if (m.contains("Content-Length") && m.contains("Transfer-Encoding")) {
      return "Content-Length and Transfer-Encoding together";
    }
    if (m.contains("Content-Length")) {
      return "Content-Length must be one whole number";
    }
    if (m.contains("Transfer-Encoding") || m.contains("transfer coding")) {
      return "unsupported Transfer-Encoding (only chunked, last)";
    }
    return "not a valid HTTP/1.1 request";
  }

  /** Why a WebSocket handshake was refused. */
  static String handshake(WebSocketHandshakeException e) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    if (m.contains("|Connection|")) {
      return "the Connection header must include Upgrade";
    }
    if (m.contains("|Upgrade|") || m.contains("missing upgrade")) {
      return "the Upgrade header must be websocket";
    }
    if (m.contains("missing key")) {
      return "Sec-WebSocket-Key is missing";
    }
    if (m.contains("handshake method")) {
      return "a handshake is a GET";
    }
    if (m.toLowerCase(java.util.Locale.ROOT).contains("version")) {
      return "Sec-WebSocket-Version must be 13";
    }
    return "it needs GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and"
        + " Sec-WebSocket-Version: 13";
  }
}
