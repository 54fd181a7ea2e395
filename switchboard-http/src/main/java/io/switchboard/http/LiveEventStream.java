package io.switchboard.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.FastThreadLocal;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.core.Message;
import io.switchboard.spi.admin.AdminJson;
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

  private final io.switchboard.spi.security.Access access;

  private LiveEventStream(
      ChannelHandlerContext ctx, HttpService service, io.switchboard.spi.security.Access access) {
    super(ctx, service);
    this.access = access;
  }

  /**
   * Opens the stream. Codes: INVALID_PATTERN, INVALID_ARGUMENT (queue name, bus limit),
   * TOO_MANY_CONNECTIONS, LIVE_BUS_CLOSED.
   */
  static EventStream open(ChannelHandlerContext ctx, Exchange x, HttpService service) {
    String pattern = x.param("pattern");
    io.switchboard.spi.security.Decision decision =
        x.access().decide(io.switchboard.spi.security.Permission.SUBSCRIBE, pattern);
    if (decision == io.switchboard.spi.security.Decision.DENY) {
      throw x.access().denied(io.switchboard.spi.security.Permission.SUBSCRIBE, pattern);
    }
    LiveEventStream s = new LiveEventStream(ctx, service, x.access());
    s.reserve(x.access());
    try {
      s.subscription =
          service.broker().live().subscribe(pattern, x.query("queue", null), s, ctx.executor());
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
   * few hundred messages behind another and still find its message encoded. Only encodings of up to
   * {@value #SMALL_BYTES} bytes take a slot; a larger one has a single slot of its own, so a thread
   * holds at most 4 MiB plus one large message.
   */
  static final int CACHE_SLOTS = 1024;

  static final int SMALL_BYTES = 4096;

  private static final class Encoded {
    final Message[] messages = new Message[CACHE_SLOTS];
    final ByteBuf[] bytes = new ByteBuf[CACHE_SLOTS];
    Message large;
    ByteBuf largeBytes;
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
          if (e.largeBytes != null) {
            e.largeBytes.release();
            e.largeBytes = null;
            e.large = null;
          }
        }
      };

  @Override
  public void onMessage(Message live) {
    if (!access.allows(io.switchboard.spi.security.Permission.SUBSCRIBE, live.subject())) {
      return; // a forbidden subject under a wildcard, or a grant revoked since
    }
    Message m = service.tracing().deliver(MessagingRoutes.PROTOCOL, live, null); // OFF: live
    Encoded cache = ENCODED.get();
    int slot = System.identityHashCode(m) & (CACHE_SLOTS - 1);
    ByteBuf bytes;
    if (cache.messages[slot] == m) {
      bytes = cache.bytes[slot];
    } else if (cache.large == m) {
      bytes = cache.largeBytes;
    } else {
      bytes = encode(ctx.alloc(), "message", MessageJson.live(m).toString());
      if (bytes.readableBytes() <= SMALL_BYTES) {
        if (cache.bytes[slot] != null) {
          cache.bytes[slot].release();
        }
        cache.bytes[slot] = bytes;
        cache.messages[slot] = m;
      } else {
        if (cache.largeBytes != null) {
          cache.largeBytes.release();
        }
        cache.largeBytes = bytes;
        cache.large = m;
      }
    }
    encodedEvent(Long.toString(++sequence), bytes);
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
