package io.switchboard.http;

import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * Push delivery of a durable consumer to one connection (an event stream or a WebSocket feed): at
 * most {@code credits} deliveries unsettled at once, each registered with the {@link PushRegistry}
 * so an ack from any connection returns its credit. Closing gives back at once (a nack without
 * delay) what was sent and nobody settled, so a reconnecting reader or another member gets it
 * without waiting for the ack timeout. Confined to the connection's event loop: the push thread
 * hands each delivery over to it.
 */
final class PushFeed {
  /** Deliveries kept for the close-time give-back before settled ones are pruned. */
  private static final int PRUNE_AT = 2_000;

  private final Broker broker;
  private final PushRegistry pushes;
  private final String stream;
  private final String consumer;
  private final Consumer<Delivery> sink;
  private final PushSubscription push;

  /** Deliveries sent and maybe not settled: partition:offset → delivery. Pruned. */
  private final Map<String, Delivery> sent = new LinkedHashMap<>();

  private boolean closed;

  /**
   * Starts pushing; call on {@code loop}, where {@code sink} then gets each delivery.
   *
   * @throws io.switchboard.core.SwitchboardException CONSUMER_NOT_FOUND, STREAM_NOT_FOUND,
   *     INVALID_ARGUMENT, BROKER_CLOSED
   */
  PushFeed(
      Broker broker,
      PushRegistry pushes,
      String stream,
      String consumer,
      String member,
      int credits,
      Executor loop,
      Consumer<Delivery> sink) {
    this.broker = broker;
    this.pushes = pushes;
    this.stream = stream;
    this.consumer = consumer;
    this.sink = sink;
    // Deliveries hop onto the loop, so none runs before this constructor has returned there.
    this.push = broker.push(stream, consumer, member, credits, d -> loop.execute(() -> deliver(d)));
  }

  String stream() {
    return stream;
  }

  String consumer() {
    return consumer;
  }

  private void deliver(Delivery d) {
    if (closed) {
      return; // closing: the delivery times out and is redelivered
    }
    pushes.pushed(stream, consumer, d.partition(), d.offset(), push);
    sent.put(d.partition() + ":" + d.offset(), d);
    if (sent.size() > PRUNE_AT) {
      sent.values().removeIf(x -> !pushes.holds(stream, consumer, x, push));
    }
    sink.accept(d);
  }

  /** Stops pushing and gives back what was sent and not settled. Idempotent; on the loop. */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<Delivery> unsettled = new ArrayList<>();
    for (Delivery d : sent.values()) {
      if (pushes.release(stream, consumer, d, push)) {
        unsettled.add(d);
      }
    }
    sent.clear();
    // Neither blocks: closing a push subscription only flags it, a nack posts to the consumer.
    push.close();
    for (Delivery d : unsettled) {
      broker.nack(
          stream, consumer, d.partition(), d.offset(), d.deliveryCount(), 0, "connection closed");
    }
  }
}
