package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * AUTH_RESPONSE ([P-4.5]), client to server during the handshake: the client's answer to an
 * AUTH_CHALLENGE. For SCRAM: the client-final message with the client's proof.
 *
 * @param data the mechanism's message (UTF-8 text for SCRAM); not null, may be empty
 */
public record AuthResponse(byte[] data) implements Frame {
  public AuthResponse {
    Checks.notNull("data", data);
  }

  @Override
  public FrameType type() {
    return FrameType.AUTH_RESPONSE;
  }
}
