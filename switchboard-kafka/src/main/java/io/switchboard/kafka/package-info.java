/**
 * The Kafka protocol front end (docs/kafka.md): unmodified Kafka clients and tools against
 * Switchboard's streams. The wire codec is kafka-clients' generated message classes, pinned and
 * kept to this package; a topic is a stream, its partitions the stream's partitions, and fetches
 * are served from the stored batches, which are Kafka's RecordBatch v2 byte for byte.
 */
package io.switchboard.kafka;
