package io.switchboard.protocol.codec;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.frame.ErrorFrame;

/**
 * What {@link NativeFrameDecoder} emits instead of a frame when its input breaks the protocol
 * ([P-12.1]). Immutable. After emitting one the decoder discards everything else it receives; the
 * handler sends {@link #toErrorFrame()} and closes the connection.
 *
 * @param code the protocol error code
 * @param message what was wrong
 */
public record FrameDecodeFailure(ErrorCode code, String message) {

  /** The failure a decoder saw as an exception. */
  public static FrameDecodeFailure of(SwitchboardException e) {
    return new FrameDecodeFailure(e.code(), e.detail());
  }

  /** The fatal, connection-level ERROR frame that reports this failure to the peer. */
  public ErrorFrame toErrorFrame() {
    return ErrorFrame.of(0, true, code, message);
  }
}
