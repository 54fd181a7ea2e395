package io.switchboard.mqtt;

/**
 * The MQTT front end's bounds, resolved from the configuration. Immutable.
 *
 * @param maxConnections connections open at once
 * @param maxPacketBytes largest packet accepted (and announced to v5 clients)
 * @param maxSubscriptions subscriptions per connection
 * @param maxInflight QoS 1 and 2 messages in flight each way per connection (announced as the
 *     receive maximum)
 * @param maxPendingBytes bytes queued for writing to a connection before its messages are dropped
 * @param connectTimeoutMs time a new connection has to send CONNECT
 * @param retainAvailable whether the retained-message stream could be set up
 * @param maxKeepAliveSeconds longest keep-alive a v5 client may have (0: any, including none)
 */
record MqttSettings(
    int maxConnections,
    int maxPacketBytes,
    int maxSubscriptions,
    int maxInflight,
    long maxPendingBytes,
    long connectTimeoutMs,
    boolean retainAvailable,
    int maxKeepAliveSeconds) {}
