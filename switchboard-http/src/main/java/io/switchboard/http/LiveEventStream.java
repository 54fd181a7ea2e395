package io.switchboard.http;

import io.netty.channel.ChannelHandlerContext;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.core.Message;
import io.switchboard.server.admin.AdminJson;
import java.util.Map;

/**
 * {@code GET /v1/subjects/{pattern}/events?queue=}: a live subscription as Server-Sent Events.
 * At-most-once, from memory: each {@code message} event's id is its sequence number on this stream
 * (nothing to resume from); a {@code dropped} event says how many messages the broker dropped for
 * this subscriber because it fell behind. Confined to the connection's event loop (the live bus
 * calls the sink there).
 */
final class LiveEventStream extends EventStream implements LiveSink {
  private LiveSubscription subscription;
  private long sequence;

  private LiveEventStream(ChannelHandlerContext ctx, HttpService service) {
    super(ctx, service);
  }

  /**
   * Opens the stream. Codes: INVALID_PATTERN, INVALID_ARGUMENT (queue name, bus limit),
   * TOO_MANY_CONNECTIONS, LIVE_BUS_CLOSED.
   */
  static EventStream open(ChannelHandlerContext ctx, Exchange x, HttpService service) {
    LiveEventStream s = new LiveEventStream(ctx, service);
    s.reserve();
    try {
      s.subscription =
          service
              .broker()
              .live()
              .subscribe(x.param("pattern"), x.query("queue", null), s, ctx.executor());
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.begin();
    return s;
  }

  @Override
  public void onMessage(Message m) {
    event(Long.toString(++sequence), "message", MessageJson.live(m).toString(), false);
    service.metrics().delivered(HttpMetrics.Transport.SSE, m.payload().length);
  }

  @Override
  public void onBatchEnd() {
    flush();
  }

  @Override
  public void onDropped(long totalDropped) {
    event(null, "dropped", AdminJson.JSON.valueToTree(Map.of("dropped", totalDropped)).toString());
  }

  @Override
  protected void closeSource() {
    if (subscription != null) {
      subscription.close();
    }
  }
}
