package io.switchboard.spi.session;

import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import java.util.List;
import java.util.function.Consumer;

/**
 * One push consumer of a {@link ConnectionSession}: a durable consumer's member fed within its
 * credits, made by {@link ConnectionSession#push}. Credits come back through {@link #settled} (a
 * protocol's ack that names the consumer) or {@link #grant} (the client widens its window); closing
 * stops the pushes at once and never blocks; deliveries already on their way to the loop are given
 * back.
 *
 * <p>Thread safety: confined to the connection's event loop, like its session.
 */
public final class SessionPush implements ConnectionSession.Feed {
  private final ConnectionSession<?> session;
  private final String stream;
  private final String consumer;
  private final Consumer<List<Delivery>> sink;
  private PushSubscription push;
  private boolean closed;

  SessionPush(
      ConnectionSession<?> session, String stream, String consumer, Consumer<List<Delivery>> sink) {
    this.session = session;
    this.stream = stream;
    this.consumer = consumer;
    this.sink = sink;
  }

  void open(PushSubscription push) {
    this.push = push;
  }

  static String key(String stream, String consumer) {
    return stream + '\u0000' + consumer;
  }

  String key() {
    return key(stream, consumer);
  }

  public String stream() {
    return stream;
  }

  public String consumer() {
    return consumer;
  }

  /** The loop: a batch the agent handed over. */
  void arrived(List<Delivery> batch) {
    if (closed || session.closing()) {
      giveBack(batch);
      return;
    }
    sink.accept(batch);
  }

  /** Hands deliveries back to the consumer at once (their credits return with them). */
  public void giveBack(List<Delivery> batch) {
    for (Delivery d : batch) {
      push.nack(d, 0, "connection closed");
    }
  }

  /** Returns {@code n} credits: messages settled through a frame that names the consumer. */
  public void settled(int n) {
    push.returnCredits(n);
  }

  /** Widens the window by {@code n} (at least 1; INVALID_ARGUMENT otherwise). */
  public void grant(int n) {
    push.grant(n);
  }

  /** Credits free now: how many more messages may be pushed. */
  public int availableCredits() {
    return push.availableCredits();
  }

  /** The broker's subscription (ack, nack, cumulative ack through it return credits too). */
  public PushSubscription subscription() {
    return push;
  }

  public boolean isClosed() {
    return closed;
  }

  /** Stops pushing, at once and without blocking. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      push.close();
    }
  }
}
