package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * HELLO, the client's first frame ([P-4.1]): which protocol versions and features it speaks, who it
 * is, and an optional credential.
 *
 * @param minVersion lowest protocol version the client speaks (>= 1)
 * @param maxVersion highest protocol version the client speaks (>= minVersion)
 * @param features feature bits the client would use ({@code FrameDescriptor.FEATURE_*})
 * @param clientName a name for logs and the console (may be empty)
 * @param authToken an opaque credential, or {@code null}
 */
public record Hello(
    int minVersion, int maxVersion, long features, String clientName, byte[] authToken)
    implements Frame {
  public Hello {
    Checks.positive("minVersion", minVersion);
    if (maxVersion < minVersion || maxVersion > 0xFFFF) {
      throw new IllegalArgumentException("versions " + minVersion + ".." + maxVersion);
    }
    Checks.notNull("clientName", clientName);
  }

  @Override
  public FrameType type() {
    return FrameType.HELLO;
  }
}
