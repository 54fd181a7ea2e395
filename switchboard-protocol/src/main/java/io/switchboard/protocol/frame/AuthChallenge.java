package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * AUTH_CHALLENGE ([P-4.5]), server to client during the handshake: the next message of a SASL
 * exchange the client started in HELLO. For SCRAM: the server-first message, then the server-final
 * message ({@code v=…}) just before WELCOME, which the client must verify before it accepts the
 * WELCOME.
 *
 * @param data the mechanism's message (UTF-8 text for SCRAM); not null, may be empty
 */
public record AuthChallenge(byte[] data) implements Frame {
  public AuthChallenge {
    Checks.notNull("data", data);
  }

  @Override
  public FrameType type() {
    return FrameType.AUTH_CHALLENGE;
  }
}
