package io.switchboard.protocol.frame;

import io.switchboard.core.Header;
import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * REQUEST ([P-7.5]): publishes a request to the responders of a subject and waits for the first
 * reply; answered with REPLY, or ERROR ({@code NO_RESPONDERS} at once when nothing listens, {@code
 * REQUEST_TIMEOUT} after {@code timeoutMs}).
 *
 * @param requestId correlates the REPLY or ERROR
 * @param timeoutMs how long to wait for a reply (>= 1)
 * @param subject the request subject
 * @param headers headers in order
 * @param payload the body
 */
public record Request(
    int requestId, int timeoutMs, String subject, List<Header> headers, byte[] payload)
    implements Frame {
  public Request {
    Checks.id("requestId", requestId);
    Checks.positive("timeoutMs", timeoutMs);
    Checks.notNull("subject", subject);
    headers = headers == null ? List.of() : List.copyOf(headers);
    Checks.notNull("payload", payload);
  }

  @Override
  public FrameType type() {
    return FrameType.REQUEST;
  }
}
