package io.switchboard.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.concurrent.TimeUnit;

/**
 * The slow-loris guard: a request must arrive in full (line, headers and body) within {@code
 * http.header-timeout-ms} of its first byte, or it is answered 408 HTTP_REQUEST_INCOMPLETE and the
 * connection closed. Sits before the HTTP codec and looks at raw bytes without consuming them.
 * Confined to its connection's event loop.
 */
final class RequestGuard extends ChannelDuplexHandler {
  private enum State {
    /** Between requests: the next byte starts the clock. */
    IDLE,
    /** A request is arriving; the timer runs. */
    RECEIVING,
    /** A request arrived and is being answered (or the connection is an event stream). */
    BUSY
  }

  private final long timeoutMs;
  private final HttpConnectionHandler handler;
  private State state = State.IDLE;
  private ScheduledFuture<?> timer;

  RequestGuard(long timeoutMs, HttpConnectionHandler handler) {
    this.timeoutMs = timeoutMs;
    this.handler = handler;
  }

  /** Borrows {@code msg} only to look at it; passes it on unchanged (ownership goes with it). */
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (state == State.IDLE && msg instanceof ByteBuf b && b.isReadable()) {
      state = State.RECEIVING;
      timer = ctx.executor().schedule(() -> expire(), timeoutMs, TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelRead(msg);
  }

  /** The whole request has arrived (called by the handler, on the event loop). */
  void received() {
    state = State.BUSY;
    cancel();
  }

  /** The response went out; the connection waits for its next request. */
  void answered() {
    state = State.IDLE;
  }

  private void expire() {
    if (state == State.RECEIVING) {
      state = State.BUSY;
      handler.abort(SwitchboardException.of(ErrorCode.HTTP_REQUEST_INCOMPLETE, timeoutMs));
    }
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }
}
