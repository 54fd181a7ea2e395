package io.switchboard.spi;

import io.netty.channel.Channel;
import io.netty.channel.WriteBufferWaterMark;

/**
 * The slow-reader measure every front end shares: how many bytes wait to be written to a
 * connection, read through Netty's public writability API rather than {@code Channel.unsafe()}.
 * Stateless.
 */
public final class Outbound {
  private Outbound() {}

  /**
   * Bytes queued for writing to {@code channel} and not yet written (what Netty's outbound buffer
   * counts, message overhead included); 0 once the channel has closed. Exact whenever the channel's
   * writability follows its water marks (no user-defined writability bits). Best called on the
   * channel's event loop.
   */
  public static long pendingBytes(Channel channel) {
    long toWritable = channel.bytesBeforeWritable();
    if (toWritable == Long.MAX_VALUE) {
      return 0; // closed: no outbound buffer any more
    }
    WriteBufferWaterMark marks = channel.config().getWriteBufferWaterMark();
    if (toWritable > 0) {
      // Unwritable: bytesBeforeWritable() = pending - low + 1.
      return marks.low() - 1 + toWritable;
    }
    long toUnwritable = channel.bytesBeforeUnwritable();
    if (toUnwritable > 0) {
      // Writable: bytesBeforeUnwritable() = high - pending + 1.
      return Math.max(0, marks.high() + 1 - toUnwritable);
    }
    // Neither side has room left: at the mark that flips writability.
    return channel.isWritable() ? marks.high() + 1L : Math.max(0, marks.low() - 1L);
  }
}
