package io.switchboard.protocol.frame;

import io.switchboard.core.Header;
import java.util.List;

/**
 * One stored message in a MESSAGES frame ([P-10.4]). Immutable.
 *
 * @param partition where it is stored
 * @param offset its offset there
 * @param timestampMs its timestamp, ms since the epoch
 * @param subject the subject it was published on
 * @param replyTo its reply subject, or {@code null}
 * @param headers headers in order
 * @param key its key, or {@code null}
 * @param payload the body
 */
public record StoredEntry(
    int partition,
    long offset,
    long timestampMs,
    String subject,
    String replyTo,
    List<Header> headers,
    byte[] key,
    byte[] payload) {
  public StoredEntry {
    Checks.notNull("subject", subject);
    headers = headers == null ? List.of() : List.copyOf(headers);
    Checks.notNull("payload", payload);
  }
}
