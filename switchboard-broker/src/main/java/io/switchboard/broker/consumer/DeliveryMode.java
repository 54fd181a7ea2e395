package io.switchboard.broker.consumer;

/** How a consumer's messages are spread over the members fetching from it. */
public enum DeliveryMode {
  /** One reader at a time, in order. */
  EXCLUSIVE,
  /** One active reader; the next takes over when it leaves. */
  FAILOVER,
  /** Competing readers: each message is in flight to one member at a time (a queue). */
  SHARED,
  /** Competing readers, each key always to the same reader. */
  KEY_SHARED,
  /** Kafka-style: partitions assigned to members, committed offsets. */
  GROUP
}
