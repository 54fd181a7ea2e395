package io.switchboard.spi.security;

import io.switchboard.broker.Broker;
import io.switchboard.core.SwitchboardException;

/**
 * An open push's standing to deliver a durable consumer's messages: {@code consume} on {@code
 * STREAM.CONSUMER} and everything the consumer can deliver readable ({@link StreamReads}). Taken
 * again only when the rules or users changed since it was last taken, so a push asks for each
 * delivery at the cost of one version read. Confined to the connection's loop, like {@link Access}.
 */
public final class ConsumerGrant {
  private final Access access;
  private final Broker broker;
  private final String stream;
  private final String consumer;
  private long checkedAt;

  /**
   * Takes the grant for the first time.
   *
   * @throws SwitchboardException PERMISSION_DENIED, STREAM_NOT_FOUND, CONSUMER_NOT_FOUND
   */
  public ConsumerGrant(Access access, Broker broker, String stream, String consumer) {
    this.access = access;
    this.broker = broker;
    this.stream = stream;
    this.consumer = consumer;
    long v = access.rulesVersion();
    check();
    checkedAt = v;
  }

  /** Null while the grant holds; else the refusal (the rules changed, or the consumer is gone). */
  public SwitchboardException revoked() {
    long v = access.rulesVersion();
    if (v == checkedAt) {
      return null;
    }
    try {
      check();
    } catch (SwitchboardException e) {
      return e;
    }
    checkedAt = v;
    return null;
  }

  private void check() {
    access.check(Permission.CONSUME, Permission.consumerTarget(stream, consumer));
    StreamReads.checkConsumer(access, broker, stream, consumer);
  }
}
