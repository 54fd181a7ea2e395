package io.switchboard.nativ;

import io.switchboard.protocol.ProtocolLimits;

/**
 * The native front end's bounds, resolved from the configuration. Immutable.
 *
 * @param limits what the decoder accepts (frame size and field limits)
 * @param maxConnections connections open at once
 * @param maxSubscriptions live subscriptions plus push consumers per connection
 * @param maxPendingRequests requests worked on at once per connection before reading pauses
 * @param maxPendingBytes bytes queued for writing to one connection before it is cut off
 * @param handshakeTimeoutMs time a new connection has to send HELLO
 */
record NativeSettings(
    ProtocolLimits limits,
    int maxConnections,
    int maxSubscriptions,
    int maxPendingRequests,
    long maxPendingBytes,
    long handshakeTimeoutMs) {}
