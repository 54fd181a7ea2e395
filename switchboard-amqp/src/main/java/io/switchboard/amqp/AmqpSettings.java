package io.switchboard.amqp;

/**
 * The AMQP front end's resolved settings. Immutable.
 *
 * @param maxConnections connections open at once
 * @param frameMax the largest frame offered in connection.tune (bytes, header and end included)
 * @param channelMax channels one connection may open
 * @param heartbeatSeconds heartbeat interval offered in connection.tune; 0 offers none
 * @param maxPrefetch credits of a consumer with prefetch 0 (unlimited) and the most any may have
 * @param maxUnconfirmed publishes one connection may have unconfirmed before it is not read
 */
record AmqpSettings(
    int maxConnections,
    int frameMax,
    int channelMax,
    int heartbeatSeconds,
    int maxPrefetch,
    int maxUnconfirmed) {}
