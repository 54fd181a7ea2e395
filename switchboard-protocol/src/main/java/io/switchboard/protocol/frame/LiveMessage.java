package io.switchboard.protocol.frame;

import io.switchboard.core.Header;
import io.switchboard.protocol.FrameType;
import java.util.List;

/**
 * MESSAGE ([P-7.3]): a live delivery to a subscription.
 *
 * @param sid the subscription it matched
 * @param timestampMs when it was published, ms since the epoch
 * @param subject the subject it was published on
 * @param replyTo where a responder should publish its answer, or {@code null}
 * @param headers headers in order
 * @param key its key, or {@code null}
 * @param payload the body
 */
public record LiveMessage(
    int sid,
    long timestampMs,
    String subject,
    String replyTo,
    List<Header> headers,
    byte[] key,
    byte[] payload)
    implements Frame {
  public LiveMessage {
    Checks.id("sid", sid);
    Checks.notNull("subject", subject);
    headers = headers == null ? List.of() : List.copyOf(headers);
    Checks.notNull("payload", payload);
  }

  @Override
  public FrameType type() {
    return FrameType.MESSAGE;
  }
}
