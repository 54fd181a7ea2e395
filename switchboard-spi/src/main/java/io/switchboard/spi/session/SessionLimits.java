package io.switchboard.spi.session;

import io.netty.channel.WriteBufferWaterMark;

/**
 * The bounds of one {@link ConnectionSession} (security limits, CRAFT §8). The two byte lines take
 * {@link Long#MAX_VALUE} to turn their policy off, never to leave memory unbounded: a connection
 * that drops nothing is cut off, and one never cut off (MQTT) bounds what waits by its own window.
 * Immutable.
 *
 * @param maxSubscriptions subscriptions (live or push) one connection may hold at once
 * @param inFlightHighWater operations in progress at which the connection stops reading
 * @param inFlightLowWater operations in progress below which it reads again (at most the high one)
 * @param dropLiveAboveBytes bytes waiting to be written above which a live (at-most-once) message
 *     is dropped, counted and later told of, rather than written; {@link Long#MAX_VALUE}: never
 *     dropped (such a connection is cut off instead, once past {@code cutOffAboveBytes})
 * @param cutOffAboveBytes bytes waiting to be written above which the reader is too slow and the
 *     connection is closed with {@code SLOW_CONSUMER}: the channel's high water mark, read through
 *     {@code Channel.isWritable()}; {@link Long#MAX_VALUE}: never cut off (the channel's marks are
 *     left as they are)
 * @param lingerMs how long a connection ended by a fatal error may take to flush its last frame
 *     before it is closed regardless
 */
public record SessionLimits(
    int maxSubscriptions,
    int inFlightHighWater,
    int inFlightLowWater,
    long dropLiveAboveBytes,
    long cutOffAboveBytes,
    long lingerMs) {

  public SessionLimits {
    if (maxSubscriptions < 0) {
      throw new IllegalArgumentException("maxSubscriptions must be >= 0: " + maxSubscriptions);
    }
    if (inFlightHighWater < 1 || inFlightLowWater < 1 || inFlightLowWater > inFlightHighWater) {
      throw new IllegalArgumentException(
          "in-flight water marks must satisfy 1 <= low <= high: "
              + inFlightLowWater
              + ", "
              + inFlightHighWater);
    }
    if (dropLiveAboveBytes < 0 || cutOffAboveBytes < 1 || lingerMs < 0) {
      throw new IllegalArgumentException(
          "byte limits and linger must be positive: "
              + dropLiveAboveBytes
              + ", "
              + cutOffAboveBytes
              + ", "
              + lingerMs);
    }
  }

  /**
   * The native front end's rules ([P-9]), which the WebSocket and later front ends share: live
   * messages past {@code maxPendingBytes} are dropped and told of; past twice that the reader is
   * cut off (the marks {@code Listeners.outboundLimit} sets). Reading stops at {@code maxInFlight}
   * operations in progress and resumes below half of it, so a connection at the bound does not flip
   * auto-read on every answer.
   */
  public static SessionLimits dropThenCutOff(
      int maxSubscriptions, int maxInFlight, long maxPendingBytes, long lingerMs) {
    return new SessionLimits(
        maxSubscriptions,
        maxInFlight,
        Math.max(1, maxInFlight / 2),
        maxPendingBytes,
        saturatedDouble(maxPendingBytes),
        lingerMs);
  }

  /** Whether live messages are ever dropped for a slow reader. */
  public boolean dropsLive() {
    return dropLiveAboveBytes != Long.MAX_VALUE;
  }

  /** Whether a slow reader is ever cut off. */
  public boolean cutsOff() {
    return cutOffAboveBytes != Long.MAX_VALUE;
  }

  /**
   * The channel's water marks that make {@code isWritable()} turn false exactly past {@link
   * #cutOffAboveBytes}: high at it, low at the drop line (or half the high mark when live messages
   * are not dropped), each capped at {@link Integer#MAX_VALUE}. Null when nobody is cut off.
   */
  public WriteBufferWaterMark waterMarks() {
    if (!cutsOff()) {
      return null;
    }
    int high = (int) Math.min(Integer.MAX_VALUE, cutOffAboveBytes);
    long lowWanted = dropsLive() ? dropLiveAboveBytes : cutOffAboveBytes / 2;
    int low = (int) Math.min(high, Math.max(1, lowWanted));
    return new WriteBufferWaterMark(Math.min(low, high), high);
  }

  private static long saturatedDouble(long n) {
    return n > Long.MAX_VALUE / 2 ? Long.MAX_VALUE - 1 : 2 * n;
  }
}
