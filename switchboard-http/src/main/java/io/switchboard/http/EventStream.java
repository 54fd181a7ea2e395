package io.switchboard.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.Outbound;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A Server-Sent Events response (WHATWG HTML §9.2): headers once, then events as chunks, a
 * heartbeat comment while idle, and a bound on what may wait to be written. A reader that lets more
 * than {@code http.sse-max-pending-bytes} pile up gets a final {@code error} event with
 * SLOW_CONSUMER and is disconnected: the server's memory is never what absorbs a slow browser.
 * Confined to the connection's event loop; subclasses hop their sources onto it.
 */
abstract class EventStream {
  /** Opens a stream for a request; runs on the event loop. */
  @FunctionalInterface
  interface Opener {
    /**
     * Subscribes and starts the response.
     *
     * @throws SwitchboardException before anything is written (answered as a problem)
     */
    EventStream open(ChannelHandlerContext ctx, Exchange x);
  }

  /** How long a stream cut off for slowness may take to flush its last event before it closes. */
  static final long LINGER_MS = 5_000;

  /** The reconnection delay sent to browsers (the {@code retry} field), in milliseconds. */
  static final long RETRY_MS = 1_000;

  protected final ChannelHandlerContext ctx;
  protected final HttpService service;
  private ScheduledFuture<?> heartbeat;
  private boolean counted;
  private boolean ended;
  private io.switchboard.spi.security.Access access;

  EventStream(ChannelHandlerContext ctx, HttpService service) {
    this.ctx = ctx;
    this.service = service;
  }

  /**
   * Takes an event-stream slot and a place in the principal's consumer quota (a stream is a
   * subscription, as on every protocol), or fails; call before subscribing. Both are given back
   * when the stream ends.
   *
   * @throws SwitchboardException {@link ErrorCode#TOO_MANY_CONNECTIONS}, {@link
   *     ErrorCode#QUOTA_CONSUMERS} (429)
   */
  protected final void reserve(io.switchboard.spi.security.Access access) {
    int max = service.settings().maxSseConnections();
    if (service.sseConnections().incrementAndGet() > max) {
      service.sseConnections().decrementAndGet();
      throw SwitchboardException.of(ErrorCode.TOO_MANY_CONNECTIONS, max);
    }
    try {
      access.openConsumer();
    } catch (RuntimeException e) {
      service.sseConnections().decrementAndGet();
      throw e;
    }
    this.access = access;
    counted = true;
  }

  /** Writes the response head and the first comment, and starts the heartbeat. */
  protected final void begin() {
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
        .set("X-Accel-Buffering", "no"); // nginx: pass events through unbuffered
    HttpConnectionHandler.corsHeaders(
        head.headers(), ctx.channel().attr(HttpConnectionHandler.CORS_ORIGIN).get());
    // HTTP/1.1 gets chunks; an HTTP/1.0 client cannot read them (RFC 9112 §6.1), so its stream
    // is the rest of the connection and ends when the server closes it.
    boolean http10 = Boolean.TRUE.equals(ctx.channel().attr(HttpConnectionHandler.HTTP_1_0).get());
    if (http10) {
      head.headers().set(HttpHeaderNames.CONNECTION, "close");
    } else {
      HttpUtil.setTransferEncodingChunked(head, true);
    }
    ctx.write(head, ctx.voidPromise());
    // The head is encoded; nothing but this stream's chunks follows on the connection (requests
    // sent after it are dropped unanswered), so the chunks are framed here and the HTTP encoder
    // leaves the pipeline: one buffer and one write per event instead of three and a promise
    // combiner (a third of the server's time at a thousand streams).
    HttpServerCodec codec = ctx.pipeline().get(HttpServerCodec.class);
    if (codec != null) {
      codec.removeOutboundHandler();
      rawWrites = true;
      framesChunks = !http10;
    }
    // The idle timer would watch every write with a listener; a stream is never idle (its
    // heartbeat writes), so it goes too.
    if (ctx.pipeline().get(IdleStateHandler.class) != null) {
      ctx.pipeline().remove(IdleStateHandler.class);
    }
    write("retry: " + RETRY_MS + "\n: subscribed\n\n");
    long every = service.settings().sseHeartbeatMs();
    heartbeat =
        ctx.executor()
            .scheduleAtFixedRate(
                () -> write(": heartbeat\n\n"), every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * Sends one event; {@code data} must be one line (compact JSON is). Past the pending-bytes bound
   * the stream is cut off instead.
   */
  protected final void event(String id, String type, String data) {
    event(id, type, data, true);
  }

  /**
   * As {@link #event(String, String, String)}; with {@code flush} false the event waits for the
   * next {@link #flush()}, so a live batch costs one flush (the live bus's {@code onBatchEnd}).
   */
  protected final void event(String id, String type, String data, boolean flush) {
    if (ended) {
      return;
    }
    if (pendingWriteBytes() > service.settings().sseMaxPendingBytes()) {
      slow();
      return;
    }
    StringBuilder b = new StringBuilder(data.length() + 64);
    if (id != null) {
      b.append("id: ").append(id).append('\n');
    }
    b.append("event: ").append(type).append('\n').append("data: ").append(data).append("\n\n");
    write(b.toString(), flush);
  }

  /**
   * Sends one event whose {@code event:} and {@code data:} lines are already encoded (shared by
   * every stream sending the same message; copied, the caller keeps its reference) after an {@code
   * id:} line, without a flush. Past the pending-bytes bound the stream is cut off instead.
   */
  protected final void encodedEvent(String id, ByteBuf encoded) {
    if (ended) {
      return;
    }
    if (pendingWriteBytes() > service.settings().sseMaxPendingBytes()) {
      slow();
      return;
    }
    // One small buffer with a copy of the shared bytes: cheaper than a composite of two.
    int length = id.length() + 5 + encoded.readableBytes();
    ByteBuf event = ctx.alloc().buffer(length + CHUNK_FRAMING);
    chunkHead(event, length);
    event.writeCharSequence("id: ", StandardCharsets.US_ASCII);
    event.writeCharSequence(id, StandardCharsets.US_ASCII);
    event.writeByte('\n');
    event.writeBytes(encoded, encoded.readerIndex(), encoded.readableBytes());
    chunkTail(event);
    ctx.write(content(event), ctx.voidPromise());
  }

  /** The {@code event:} and {@code data:} lines of an event, encoded. */
  static ByteBuf encode(io.netty.buffer.ByteBufAllocator alloc, String type, String data) {
    ByteBuf b = alloc.directBuffer(data.length() + type.length() + 20);
    b.writeCharSequence("event: ", StandardCharsets.US_ASCII);
    b.writeCharSequence(type, StandardCharsets.UTF_8);
    b.writeCharSequence("\ndata: ", StandardCharsets.US_ASCII);
    b.writeCharSequence(data, StandardCharsets.UTF_8);
    b.writeCharSequence("\n\n", StandardCharsets.US_ASCII);
    return b;
  }

  /**
   * Flushes events written without a flush — at once when the stream has not flushed in the last
   * {@link #FLUSH_INTERVAL_NS}, else once that interval is up. A quiet stream's event goes out
   * immediately; a busy one writes its events in batches, at most {@code 1 s / interval} writes a
   * second, so a thousand streams at a thousand messages a second cost the server a fraction of the
   * system calls (and the browser's parser the same events).
   */
  protected final void flush() {
    if (ended || flushScheduled) {
      return;
    }
    long now = System.nanoTime();
    long due = lastFlushNs + FLUSH_INTERVAL_NS;
    if (now - due >= 0) {
      lastFlushNs = now;
      ctx.flush();
      return;
    }
    flushScheduled = true;
    ctx.executor()
        .schedule(
            () -> {
              flushScheduled = false;
              if (!ended) {
                lastFlushNs = System.nanoTime();
                ctx.flush();
              }
            },
            due - now,
            TimeUnit.NANOSECONDS);
  }

  /** The least time between two batched flushes of one stream (2 ms). */
  static final long FLUSH_INTERVAL_NS = 2_000_000;

  private long lastFlushNs = System.nanoTime() - FLUSH_INTERVAL_NS;
  private boolean flushScheduled;

  private void write(String text) {
    write(text, true);
  }

  private void write(String text, boolean flush) {
    if (ended) {
      return;
    }
    // Ownership of the buffer passes to the write; the transport releases it.
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    ByteBuf buf = ctx.alloc().buffer(bytes.length + CHUNK_FRAMING);
    chunkHead(buf, bytes.length);
    buf.writeBytes(bytes);
    chunkTail(buf);
    if (flush) {
      ctx.writeAndFlush(content(buf), ctx.voidPromise());
    } else {
      ctx.write(content(buf), ctx.voidPromise());
    }
  }

  /** Room for a chunk's size line and trailing CRLF (RFC 9112 §7.1). */
  private static final int CHUNK_FRAMING = 8 + 2 + 2;

  /** Whether this stream writes bytes itself (the HTTP encoder has left the pipeline). */
  private boolean rawWrites;

  /** Whether those bytes are framed as chunks (HTTP/1.1) or not (HTTP/1.0, close-delimited). */
  private boolean framesChunks;

  private void chunkHead(ByteBuf b, int length) {
    if (framesChunks) {
      b.writeCharSequence(Integer.toHexString(length), StandardCharsets.US_ASCII);
      b.writeShort(CRLF);
    }
  }

  private void chunkTail(ByteBuf b) {
    if (framesChunks) {
      b.writeShort(CRLF);
    }
  }

  private Object content(ByteBuf b) {
    return rawWrites ? b : new DefaultHttpContent(b);
  }

  private static final int CRLF = ('\r' << 8) | '\n';

  private long pendingWriteBytes() {
    return Outbound.pendingBytes(ctx.channel());
  }

  /** Cuts off a reader that fell too far behind: a last {@code error} event, then the end. */
  private void slow() {
    SwitchboardException e =
        SwitchboardException.of(
            ErrorCode.SLOW_CONSUMER, pendingWriteBytes(), service.settings().sseMaxPendingBytes());
    end("error", HttpErrors.problem(e, null).toString());
  }

  /** Sends a last event and ends the response and the connection. */
  protected final void end(String type, String data) {
    if (ended) {
      return;
    }
    StringBuilder b = new StringBuilder();
    b.append("event: ").append(type).append('\n').append("data: ").append(data).append("\n\n");
    write(b.toString());
    ended = true;
    Object last =
        !rawWrites
            ? LastHttpContent.EMPTY_LAST_CONTENT
            : framesChunks
                ? Unpooled.wrappedBuffer("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII))
                : Unpooled.EMPTY_BUFFER;
    ctx.writeAndFlush(last).addListener(f -> ctx.close());
    ctx.executor().schedule(() -> ctx.close(), LINGER_MS, TimeUnit.MILLISECONDS);
    stop();
  }

  /** Whether the stream has ended (cut off, or its connection closed). */
  protected final boolean ended() {
    return ended;
  }

  /** The connection closed: stop the source and free the slot. Idempotent. */
  final void close() {
    ended = true;
    stop();
  }

  private void stop() {
    if (heartbeat != null) {
      heartbeat.cancel(false);
      heartbeat = null;
    }
    if (counted) {
      counted = false;
      service.sseConnections().decrementAndGet();
      access.closeConsumer();
      closeSource();
    }
  }

  /** Stops what feeds the stream (a subscription); called once, on the event loop. */
  protected abstract void closeSource();
}
