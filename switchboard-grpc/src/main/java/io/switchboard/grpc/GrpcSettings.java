package io.switchboard.grpc;

/**
 * The gRPC front end's resolved settings. Immutable.
 *
 * @param maxMessageBytes largest request message accepted (RESOURCE_EXHAUSTED before buffering)
 * @param maxConcurrentStreams calls open at once on one connection (HTTP/2 SETTINGS)
 * @param maxInFlight publishes one PublishStream may have waiting for storage, and requests one
 *     Serve stream may have unanswered
 * @param maxPending messages one server stream may hold for a client that does not read (live
 *     subscriptions drop past it, and say how many)
 * @param maxCredit most credit one Consume stream may hold
 * @param requestTimeoutMs how long a Request waits without a deadline or timeout of its own
 */
record GrpcSettings(
    int maxMessageBytes,
    int maxConcurrentStreams,
    int maxInFlight,
    int maxPending,
    int maxCredit,
    long requestTimeoutMs) {

  static final GrpcSettings DEFAULTS = new GrpcSettings(4 << 20, 100, 1024, 1024, 10_000, 30_000);
}
