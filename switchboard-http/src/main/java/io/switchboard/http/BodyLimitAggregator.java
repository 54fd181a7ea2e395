package io.switchboard.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/**
 * Netty's aggregator with our answer to an oversized body: 413 HTTP_BODY_TOO_LARGE as a problem
 * document, then the connection is closed (the rest of the body is never read into memory). A
 * declared Content-Length over the limit is refused before any of the body is buffered. Confined to
 * one connection.
 */
final class BodyLimitAggregator extends HttpObjectAggregator {
  private final int maxBodyBytes;
  private final HttpConnectionHandler handler;

  BodyLimitAggregator(int maxBodyBytes, HttpConnectionHandler handler) {
    super(maxBodyBytes);
    this.maxBodyBytes = maxBodyBytes;
    this.handler = handler;
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    long declared = HttpUtil.getContentLength(oversized, -1L);
    handler.abort(
        SwitchboardException.of(
            ErrorCode.HTTP_BODY_TOO_LARGE,
            declared >= 0 ? String.valueOf(declared) : "more than " + maxBodyBytes,
            maxBodyBytes));
  }
}
