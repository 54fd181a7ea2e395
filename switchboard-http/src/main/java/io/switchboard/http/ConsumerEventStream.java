package io.switchboard.http;

import io.netty.channel.ChannelHandlerContext;
import io.switchboard.broker.consumer.Delivery;

/**
 * {@code GET /v1/streams/{stream}/consumers/{consumer}/events?member=&credits=}: push delivery of a
 * durable consumer as Server-Sent Events. At most {@code credits} deliveries are unacknowledged at
 * once; each {@code message} event's id is its delivery id ({@code partition:offset:count}), which
 * the REST acks route takes, returning the credit. When the stream closes, deliveries it pushed and
 * nobody settled are given back at once ({@link PushFeed}). Confined to the connection's event
 * loop.
 */
final class ConsumerEventStream extends EventStream {
  /** 10 credits by default, 1,000 at most: a browser's worth in flight. */
  static final int DEFAULT_CREDITS = 10;

  static final int MAX_CREDITS = 1000;

  private PushFeed feed;
  private final String consumer;
  private io.switchboard.spi.security.ConsumerGrant grant;

  private ConsumerEventStream(ChannelHandlerContext ctx, HttpService service, String consumer) {
    super(ctx, service);
    this.consumer = consumer;
  }

  /**
   * Opens the stream. Codes: CONSUMER_NOT_FOUND, STREAM_NOT_FOUND, INVALID_ARGUMENT,
   * TOO_MANY_CONNECTIONS, BROKER_CLOSED.
   */
  static EventStream open(ChannelHandlerContext ctx, Exchange x, HttpService service) {
    int credits = (int) x.queryLong("credits", DEFAULT_CREDITS, 1, MAX_CREDITS);
    String member = x.query("member", AdminRoutes.DEFAULT_MEMBER);
    String stream = x.param("stream");
    String consumer = x.param("consumer");
    ConsumerEventStream s = new ConsumerEventStream(ctx, service, consumer);
    // Fails with STREAM_NOT_FOUND / CONSUMER_NOT_FOUND before anything is reserved or written.
    service.broker().consumerInfo(stream, consumer);
    // The route checked it; kept to be taken again when the rules move (each delivery asks).
    s.grant =
        new io.switchboard.spi.security.ConsumerGrant(
            x.access(), service.broker(), stream, consumer);
    s.reserve(x.access());
    try {
      s.feed =
          new PushFeed(
              service.broker(),
              service.pushes(),
              stream,
              consumer,
              member,
              credits,
              ctx.executor(),
              s::deliver);
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.begin();
    return s;
  }

  private void deliver(Delivery d) {
    if (ended()) {
      return;
    }
    RuntimeException revoked = grant.revoked();
    if (revoked != null) {
      // The rules changed since the stream opened: a last error event, and the end (what the
      // member holds goes back at once, PushFeed).
      end("error", HttpErrors.problem(HttpErrors.unwrap(revoked), null).toString());
      return;
    }
    event(
        MessageJson.deliveryId(d.partition(), d.offset(), d.deliveryCount()),
        "message",
        MessageJson.delivery(d, service.tracing(), consumer).toString());
    service.metrics().delivered(HttpMetrics.Transport.SSE, d.message().payload().length);
  }

  @Override
  protected void closeSource() {
    if (feed != null) {
      feed.close();
    }
  }
}
