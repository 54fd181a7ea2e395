package io.switchboard.protocol.codec;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.switchboard.protocol.frame.Frame;
import java.util.List;

/**
 * Turns {@link Frame}s into bytes: computes each frame's exact size and allocates one buffer for it
 * from the channel's allocator ([P-2.1]). Stateless and {@link Sharable}: one instance serves every
 * channel, on either side. Frames hold no reference-counted memory, so nothing needs releasing.
 *
 * <p>It does not check the peer's limits (the negotiated {@code maxFrameBytes}): a sender that may
 * exceed them checks {@link FrameCodec#encodedSize} first.
 */
@Sharable
public final class NativeFrameEncoder extends MessageToMessageEncoder<Frame> {

  /** The shared instance. */
  public static final NativeFrameEncoder INSTANCE = new NativeFrameEncoder();

  private NativeFrameEncoder() {
    super(Frame.class);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
    out.add(FrameCodec.encode(ctx.alloc(), frame));
  }
}
