package io.switchboard.kafka;

import io.switchboard.core.SwitchboardException;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.protocol.Errors;

/** Switchboard's error codes as Kafka's (docs/kafka.md "Errors"). Stateless. */
final class KafkaErrors {
  private KafkaErrors() {}

  /** The Kafka error for a failure a broker call reported. */
  static Errors of(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (!(t instanceof SwitchboardException e)) {
      return Errors.UNKNOWN_SERVER_ERROR;
    }
    return switch (e.code()) {
      case STREAM_NOT_FOUND, INVALID_ARGUMENT -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
      case STREAM_EXISTS -> Errors.TOPIC_ALREADY_EXISTS;
      case INVALID_CONFIG, STREAM_SUBJECTS_OVERLAP, TOO_MANY_STREAM_SUBJECTS ->
          Errors.INVALID_CONFIG;
      case STREAM_RESERVED -> Errors.INVALID_REQUEST;
      case STREAM_MISMATCH, INVALID_SUBJECT, INVALID_DELAY -> Errors.INVALID_RECORD;
      case LOG_OFFSET_OUT_OF_RANGE -> Errors.OFFSET_OUT_OF_RANGE;
      case MESSAGE_TOO_LARGE, LOG_BATCH_TOO_LARGE -> Errors.MESSAGE_TOO_LARGE;
      case LOG_INVALID_BATCH, LOG_CORRUPT_SEGMENT -> Errors.CORRUPT_MESSAGE;
      case LOG_UNSUPPORTED_COMPRESSION -> Errors.UNSUPPORTED_COMPRESSION_TYPE;
      case PRODUCER_FENCED -> Errors.INVALID_PRODUCER_EPOCH;
      case OUT_OF_ORDER_SEQUENCE -> Errors.OUT_OF_ORDER_SEQUENCE_NUMBER;
      case STREAM_FULL -> Errors.POLICY_VIOLATION;
      case PUBLISH_BACKPRESSURE, TOO_MANY_WAITING_FETCHES -> Errors.THROTTLING_QUOTA_EXCEEDED;
      case BROKER_CLOSED, PARTITION_CLOSED, LOG_CLOSED -> Errors.NOT_LEADER_OR_FOLLOWER;
      case LOG_IO_ERROR, LOG_FSYNC_FAILED -> Errors.KAFKA_STORAGE_ERROR;
      default -> Errors.UNKNOWN_SERVER_ERROR;
    };
  }
}
