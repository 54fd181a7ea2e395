package io.switchboard.http;

import io.netty.channel.ChannelHandlerContext;
import io.switchboard.broker.consumer.Delivery;

/**
 * {@code GET /v1/streams/{stream}/events?subject=&start=}: a stream's messages as Server-Sent
 * Events, replayed from a position and then followed live — resumable exactly. Each event's id is
 * the stream position just after it ({@link StreamFollower}); a reconnect that sends it back as
 * {@code Last-Event-ID} (the browser's EventSource does so by itself) continues right after that
 * event: nothing lost, nothing repeated. Confined to the connection's event loop.
 */
final class StreamEventStream extends EventStream {
  private StreamFollower follower;

  private StreamEventStream(ChannelHandlerContext ctx, HttpService service) {
    super(ctx, service);
  }

  /**
   * Opens the stream. Codes: STREAM_NOT_FOUND, INVALID_ARGUMENT (a bad start or Last-Event-ID),
   * INVALID_PATTERN, TOO_MANY_CONNECTIONS, BROKER_CLOSED.
   */
  static EventStream open(ChannelHandlerContext ctx, Exchange x, HttpService service) {
    String stream = x.param("stream");
    long[] next =
        StreamFollower.startPosition(
            service.broker(),
            stream,
            x.headers().get("Last-Event-ID"),
            x.query("start", "latest"),
            "Last-Event-ID");
    StreamEventStream s = new StreamEventStream(ctx, service);
    s.reserve(x.access());
    try {
      s.follower =
          StreamFollower.open(
              service.broker(),
              stream,
              x.query("subject", null),
              next,
              ctx.executor(),
              ctx.channel()::isWritable,
              s::deliver,
              x.access());
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.begin();
    return s;
  }

  private void deliver(String position, Delivery d) {
    if (ended()) {
      return;
    }
    event(position, "message", MessageJson.delivery(d, service.tracing(), null).toString());
    service.metrics().delivered(HttpMetrics.Transport.SSE, d.message().payload().length);
  }

  @Override
  protected void closeSource() {
    if (follower != null) {
      follower.close();
    }
  }
}
