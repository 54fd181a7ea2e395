package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * WELCOME, the server's answer to an acceptable HELLO ([P-4.2]): the version and features chosen,
 * and the limits the client must respect.
 *
 * @param version the protocol version both sides now speak
 * @param features the features in use: a subset of those the client offered
 * @param serverId the server's id, for logs and reconnect diagnostics
 * @param maxFrameBytes largest frame the server accepts, header included
 * @param maxPendingRequests most requests the server works on for this connection at once; beyond
 *     it the server stops reading from the connection until some complete
 * @param maxPendingBytes most bytes of request frames the server holds unanswered for this
 *     connection; beyond it the server stops reading likewise
 * @param pingIntervalMs how often the server pings an idle connection; a peer silent for two
 *     intervals is considered dead (0: no keep-alive)
 */
public record Welcome(
    int version,
    long features,
    String serverId,
    int maxFrameBytes,
    int maxPendingRequests,
    long maxPendingBytes,
    int pingIntervalMs)
    implements Frame {
  public Welcome {
    Checks.positive("version", version);
    Checks.notNull("serverId", serverId);
    Checks.positive("maxFrameBytes", maxFrameBytes);
    Checks.positive("maxPendingRequests", maxPendingRequests);
    if (maxPendingBytes < 1 || pingIntervalMs < 0) {
      throw new IllegalArgumentException("maxPendingBytes >= 1 and pingIntervalMs >= 0");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.WELCOME;
  }
}
