package io.switchboard.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.FastThreadLocal;
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

  /**
   * Messages this event-loop thread encoded lately, and their encodings: the live bus hands the
   * same message to every subscriber of the loop, so a fan-out to a thousand event streams encodes
   * it once per loop, not a thousand times. Direct-mapped by identity, {@value #CACHE_SLOTS} slots
   * per thread (a bounded cache): subscribers drain their own queues, so under load one may be a
   * few hundred messages behind another and still find its message encoded.
   */
  static final int CACHE_SLOTS = 1024;

  private static final class Encoded {
    final Message[] messages = new Message[CACHE_SLOTS];
    final ByteBuf[] bytes = new ByteBuf[CACHE_SLOTS];
  }

  private static final FastThreadLocal<Encoded> ENCODED =
      new FastThreadLocal<>() {
        @Override
        protected Encoded initialValue() {
          return new Encoded();
        }

        @Override
        protected void onRemoval(Encoded e) {
          for (int i = 0; i < CACHE_SLOTS; i++) {
            if (e.bytes[i] != null) {
              e.bytes[i].release();
              e.bytes[i] = null;
              e.messages[i] = null;
            }
          }
        }
      };

  @Override
  public void onMessage(Message m) {
    Encoded cache = ENCODED.get();
    int slot = System.identityHashCode(m) & (CACHE_SLOTS - 1);
    if (cache.messages[slot] != m) {
      if (cache.bytes[slot] != null) {
        cache.bytes[slot].release();
      }
      cache.bytes[slot] = encode(ctx.alloc(), "message", MessageJson.live(m).toString());
      cache.messages[slot] = m;
    }
    encodedEvent(Long.toString(++sequence), cache.bytes[slot]);
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
