package io.switchboard.protocol.frame;

import io.switchboard.core.Header;
import java.util.List;

/**
 * One message handed to a durable consumer's member ([P-8.2]), in DELIVERIES and DELIVERY frames.
 * Immutable.
 *
 * @param partition where it is stored
 * @param offset its offset there (what to acknowledge)
 * @param deliveryCount 1 on first delivery, more on redeliveries
 * @param timestampMs its timestamp, ms since the epoch
 * @param subject the subject it was published on
 * @param replyTo its reply subject, or {@code null}
 * @param headers headers in order
 * @param key its key, or {@code null}
 * @param payload the body
 */
public record DeliveryEntry(
    int partition,
    long offset,
    int deliveryCount,
    long timestampMs,
    String subject,
    String replyTo,
    List<Header> headers,
    byte[] key,
    byte[] payload) {
  public DeliveryEntry {
    Checks.positive("deliveryCount", deliveryCount);
    Checks.notNull("subject", subject);
    headers = headers == null ? List.of() : List.copyOf(headers);
    Checks.notNull("payload", payload);
  }
}
