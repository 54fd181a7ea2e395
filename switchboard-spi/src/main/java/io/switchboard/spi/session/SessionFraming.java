package io.switchboard.spi.session;

import io.switchboard.core.ErrorCode;

/**
 * What a protocol plugs into a {@link ConnectionSession}: the frames only it knows how to build.
 * Everything else (subscription ids, credits, in-flight accounting, the slow-reader policy, the hop
 * to the loop, the fatal close) is the session's. Called on the connection's event loop; a returned
 * frame's ownership passes to the session, which writes it.
 *
 * @param <K> the protocol's subscription id (native: an int sid; WebSocket JSON: a string)
 */
public interface SessionFraming<K> {

  /**
   * The notice that {@code totalDropped} live messages of subscription {@code id} have been dropped
   * so far (a running total), or null when the protocol has no such notice (MQTT: the drops are
   * only counted).
   */
  Object dropNotice(K id, long totalDropped);

  /**
   * The last frame a connection ended by {@code code} is sent (native: a fatal ERROR; WebSocket: a
   * close frame; MQTT 5: a DISCONNECT), or null to close without one.
   */
  Object fatalFrame(ErrorCode code, String message);

  /**
   * After the fatal frame is written, shut the output down and let the peer send until it closes or
   * the linger passes (true: native [P-12.1], where closing with unread input would reset the
   * connection and could destroy the error frame in flight), rather than close at once (false).
   */
  default boolean halfCloseOnFatal() {
    return false;
  }
}
