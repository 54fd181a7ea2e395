package io.switchboard.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.WebSocketProtocols;
import java.util.List;

/**
 * A protocol another front end mounts over WebSocket on this port ({@link WebSocketProtocols}),
 * such as MQTT on {@code /mqtt}: after the handshake, binary frames become bytes for the mounted
 * protocol's own decoder, and the bytes its encoder writes become binary frames. Pings are answered
 * here, a close frame is echoed and ends the connection, and text frames — which a binary protocol
 * never sends — close it with 1003.
 */
final class MountedWebSocket {
  private MountedWebSocket() {}

  /**
   * Answers the upgrade request and hands the connection to the mounted protocol. Borrows {@code
   * request}. Codes (before anything is written): TOO_MANY_CONNECTIONS, HTTP_MALFORMED_REQUEST.
   */
  static void upgrade(
      ChannelHandlerContext ctx,
      FullHttpRequest request,
      WebSocketProtocols.Mount mount,
      HttpService service) {
    String host = request.headers().get(HttpHeaderNames.HOST, "localhost");
    WebSocketDecoderConfig decoder =
        WebSocketDecoderConfig.newBuilder()
            .maxFramePayloadLength(service.settings().maxBodyBytes())
            .allowExtensions(false)
            .build();
    WebSocketServerHandshaker handshaker =
        new WebSocketServerHandshakerFactory(
                "ws://" + host + mount.path(), mount.subprotocol(), decoder)
            .newHandshaker(request);
    if (handshaker == null) {
      throw SwitchboardException.of(
          ErrorCode.HTTP_MALFORMED_REQUEST,
          "unsupported WebSocket version "
              + request.headers().get("Sec-WebSocket-Version")
              + "; 13 is supported");
    }
    int max = service.settings().maxWsConnections();
    if (service.wsConnections().incrementAndGet() > max) {
      service.wsConnections().decrementAndGet();
      throw SwitchboardException.of(ErrorCode.TOO_MANY_CONNECTIONS, max);
    }
    try {
      handshaker
          .handshake(ctx.channel(), request)
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    f.channel()
                        .closeFuture()
                        .addListener(c -> service.wsConnections().decrementAndGet());
                    if (!f.isSuccess()) {
                      f.channel().close();
                      return;
                    }
                    f.channel()
                        .pipeline()
                        .addAfter(
                            ctx.name(),
                            "ws-aggregator",
                            new WebSocketFrameAggregator(service.settings().maxBodyBytes()))
                        .addAfter("ws-aggregator", "ws-bytes", new FrameBytes());
                    mount.installer().accept(f.channel().pipeline());
                    f.channel().config().setAutoRead(true);
                  });
    } catch (WebSocketHandshakeException e) {
      service.wsConnections().decrementAndGet();
      throw SwitchboardException.of(
          ErrorCode.HTTP_MALFORMED_REQUEST,
          "not a WebSocket handshake: " + NettyErrors.handshake(e));
    }
  }

  /** Binary frames to bytes and bytes to binary frames. One per connection. */
  static final class FrameBytes extends MessageToMessageCodec<WebSocketFrame, ByteBuf> {
    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
      out.add(new BinaryWebSocketFrame(msg.retain()));
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
      if (frame instanceof BinaryWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
        out.add(frame.content().retain());
      } else if (frame instanceof PingWebSocketFrame) {
        ctx.writeAndFlush(new PongWebSocketFrame(frame.content().retain()));
      } else if (frame instanceof CloseWebSocketFrame) {
        ctx.writeAndFlush(frame.retainedDuplicate()).addListener(ChannelFutureListener.CLOSE);
      } else if (!(frame instanceof PongWebSocketFrame)) {
        ctx.writeAndFlush(new CloseWebSocketFrame(1003, "binary frames only"))
            .addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
