package io.switchboard.http;

import io.netty.channel.ChannelHandlerContext;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /v1/streams/{stream}/consumers/{consumer}/events?member=&credits=}: push delivery of a
 * durable consumer as Server-Sent Events. At most {@code credits} deliveries are unacknowledged at
 * once; each {@code message} event's id is its delivery id ({@code partition:offset:count}), which
 * the REST acks route takes, returning the credit. When the stream closes, deliveries it pushed and
 * nobody settled are given back at once (a nack without delay), so a reconnecting reader gets them
 * again without waiting for the ack timeout. Confined to the connection's event loop; the push
 * thread hands each delivery over to it.
 */
final class ConsumerEventStream extends EventStream {
  /** 10 credits by default, 1,000 at most: a browser's worth in flight. */
  static final int DEFAULT_CREDITS = 10;

  static final int MAX_CREDITS = 1000;

  private final String stream;
  private final String consumer;
  private PushSubscription push;

  /** Deliveries sent and maybe not settled: partition:offset → delivery count. Pruned. */
  private final Map<String, Delivery> sent = new LinkedHashMap<>();

  private ConsumerEventStream(
      ChannelHandlerContext ctx, HttpService service, String stream, String consumer) {
    super(ctx, service);
    this.stream = stream;
    this.consumer = consumer;
  }

  /**
   * Opens the stream. Codes: CONSUMER_NOT_FOUND, STREAM_NOT_FOUND, INVALID_ARGUMENT,
   * TOO_MANY_CONNECTIONS, BROKER_CLOSED.
   */
  static EventStream open(ChannelHandlerContext ctx, Exchange x, HttpService service) {
    int credits = (int) x.queryLong("credits", DEFAULT_CREDITS, 1, MAX_CREDITS);
    String member = x.query("member", AdminRoutes.DEFAULT_MEMBER);
    ConsumerEventStream s =
        new ConsumerEventStream(ctx, service, x.param("stream"), x.param("consumer"));
    // Fails with STREAM_NOT_FOUND / CONSUMER_NOT_FOUND before anything is reserved or written.
    service.broker().consumerInfo(s.stream, s.consumer);
    s.reserve();
    try {
      s.push =
          service
              .broker()
              .push(
                  s.stream,
                  s.consumer,
                  member,
                  credits,
                  d -> ctx.executor().execute(() -> s.deliver(d)));
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.begin();
    return s;
  }

  private void deliver(Delivery d) {
    if (ended() || !ctx.channel().isActive()) {
      return; // closing: the delivery times out and is redelivered
    }
    service.pushes().pushed(stream, consumer, d.partition(), d.offset(), push);
    sent.put(d.partition() + ":" + d.offset(), d);
    if (sent.size() > 2 * MAX_CREDITS) {
      sent.values().removeIf(x -> !service.pushes().holds(stream, consumer, x, push));
    }
    event(
        MessageJson.deliveryId(d.partition(), d.offset(), d.deliveryCount()),
        "message",
        MessageJson.delivery(d).toString());
  }

  @Override
  protected void closeSource() {
    PushSubscription p = push;
    if (p == null) {
      return;
    }
    List<Delivery> unsettled = new ArrayList<>();
    for (Delivery d : sent.values()) {
      if (service.pushes().release(stream, consumer, d, p)) {
        unsettled.add(d);
      }
    }
    sent.clear();
    // Closing a push subscription joins its thread: never on the event loop.
    Thread.ofVirtual()
        .name("sb-http-push-close")
        .start(
            () -> {
              p.close();
              for (Delivery d : unsettled) {
                service
                    .broker()
                    .nack(
                        stream,
                        consumer,
                        d.partition(),
                        d.offset(),
                        d.deliveryCount(),
                        0,
                        "event stream closed");
              }
            });
  }
}
