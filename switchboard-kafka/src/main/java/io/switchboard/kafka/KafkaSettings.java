package io.switchboard.kafka;

/**
 * The Kafka front end's resolved settings. Immutable.
 *
 * @param maxRequestBytes largest request accepted, refused before it is buffered
 * @param maxConnections connections open at once
 * @param maxInFlight requests one connection may have unanswered before it stops reading
 * @param autoCreateTopics whether a Metadata or Produce request for an unknown topic creates it
 * @param defaultPartitions partitions of a topic created without a count
 * @param advertisedHost the host name given to clients, or empty for the address they reached
 */
record KafkaSettings(
    int maxRequestBytes,
    int maxConnections,
    int maxInFlight,
    boolean autoCreateTopics,
    int defaultPartitions,
    String advertisedHost) {}
