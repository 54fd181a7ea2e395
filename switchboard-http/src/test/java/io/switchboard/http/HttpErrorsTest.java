package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The error → HTTP status table, row by row (CRAFT §6): each row of this test is written out by
 * hand, independently of {@link HttpErrors#status}, and every code must have one.
 */
class HttpErrorsTest {
  static final String ROWS =
      """
      INTERNAL, 500
      INVALID_ARGUMENT, 400
      INVALID_CONFIG, 400
      INVALID_SUBJECT, 400
      INVALID_PATTERN, 400
      NO_RESPONDERS, 503
      REQUEST_TIMEOUT, 504
      TOO_MANY_PENDING_REQUESTS, 429
      LIVE_BUS_CLOSED, 503
      STREAM_NOT_FOUND, 404
      STREAM_EXISTS, 409
      STREAM_SUBJECTS_OVERLAP, 409
      STREAM_UPDATE_NOT_ALLOWED, 409
      STREAM_MISMATCH, 412
      BROKER_CLOSED, 503
      STREAM_FULL, 503
      MESSAGE_TOO_LARGE, 413
      PUBLISH_BACKPRESSURE, 429
      PARTITION_CLOSED, 503
      SUBJECT_INDEX_FULL, 507
      PRODUCER_FENCED, 409
      OUT_OF_ORDER_SEQUENCE, 409
      CONSUMER_NOT_FOUND, 404
      CONSUMER_EXISTS, 409
      TOO_MANY_WAITING_FETCHES, 429
      CONSUMER_CLOSED, 503
      CONSUMER_EXCLUSIVE, 409
      INVALID_DELAY, 400
      INVALID_BINDING, 400
      TOO_MANY_BINDINGS, 409
      BINDING_BACKPRESSURE, 429
      PUBLISH_CONFLICT, 412
      GROUP_NOT_FOUND, 404
      STALE_GENERATION, 409
      UNKNOWN_GROUP_MEMBER, 409
      GROUP_NOT_EMPTY, 409
      TOO_MANY_GROUPS, 507
      TOO_MANY_GROUP_OFFSETS, 400
      SCHEMA_SUBJECT_NOT_FOUND, 404
      SCHEMA_VERSION_NOT_FOUND, 404
      SCHEMA_NOT_FOUND, 404
      SCHEMA_SUBJECT_NOT_SOFT_DELETED, 404
      SCHEMA_VERSION_NOT_SOFT_DELETED, 404
      SCHEMA_COMPATIBILITY_NOT_CONFIGURED, 404
      SCHEMA_INCOMPATIBLE, 409
      SCHEMA_INVALID, 422
      SCHEMA_VERSION_INVALID, 422
      SCHEMA_COMPATIBILITY_INVALID, 422
      SCHEMA_REGISTRY_FULL, 507
      SCHEMA_STORE_ERROR, 500
      SCHEMA_REQUIRED, 400
      SCHEMA_ID_UNKNOWN, 400
      SCHEMA_SUBJECT_MISMATCH, 400
      SCHEMA_PAYLOAD_INVALID, 400
      DEADLINE_EXPIRED, 504
      OFFSET_METADATA_TOO_LARGE, 413
      GROUP_BACKPRESSURE, 429
      CONSUMER_BACKPRESSURE, 429
      MALFORMED_FRAME, 400
      FRAME_TOO_LARGE, 413
      UNKNOWN_FRAME_TYPE, 400
      RESERVED_BITS_SET, 400
      INVALID_FIELD, 400
      FIELD_TOO_LARGE, 400
      BAD_MAGIC, 400
      UNSUPPORTED_VERSION, 400
      HANDSHAKE_REQUIRED, 400
      HANDSHAKE_TIMEOUT, 408
      UNEXPECTED_FRAME, 400
      AUTHENTICATION_FAILED, 401
      AUTHENTICATION_REQUIRED, 401
      SERVER_NOT_PROVEN, 502
      PERMISSION_DENIED, 403
      USER_NOT_FOUND, 404
      USER_EXISTS, 409
      ACL_RULE_NOT_FOUND, 404
      QUOTA_CONNECTIONS, 429
      QUOTA_CONSUMERS, 429
      QUOTA_RATE, 429
      QUOTA_NOT_FOUND, 404
      INSECURE_BIND, 400
      HTTP_ORIGIN_NOT_ALLOWED, 403
      HTTP_VERSION_NOT_SUPPORTED, 505
      HTTP_SIMPLE_CONTENT_TYPE, 415
      HTTP_HOST_NOT_ALLOWED, 421
      KAFKA_TXN_TOO_LARGE, 413
      KAFKA_TXN_MEMORY_FULL, 503
      KAFKA_TXN_IDS_FULL, 507
      KAFKA_TXN_LOG_CORRUPT, 500
      STREAM_RESERVED, 403
      CONSUMER_RESERVED, 403
      TOO_MANY_STREAM_SUBJECTS, 400
      TOO_MANY_CONNECTIONS, 503
      TOO_MANY_SUBSCRIPTIONS, 429
      SUBSCRIPTION_EXISTS, 409
      SUBSCRIPTION_NOT_FOUND, 404
      SLOW_CONSUMER, 503
      SERVER_SHUTTING_DOWN, 503
      FEATURE_NOT_NEGOTIATED, 400
      CONNECTION_FAILED, 502
      CONNECTION_LOST, 502
      HTTP_BODY_TOO_LARGE, 413
      HTTP_REQUEST_INCOMPLETE, 408
      HTTP_NOT_FOUND, 404
      HTTP_METHOD_NOT_ALLOWED, 405
      HTTP_MALFORMED_REQUEST, 400
      LOG_IO_ERROR, 500
      LOG_FSYNC_FAILED, 500
      LOG_CLOSED, 503
      LOG_OFFSET_OUT_OF_RANGE, 400
      LOG_CORRUPT_SEGMENT, 500
      LOG_INVALID_BATCH, 400
      LOG_BATCH_TOO_LARGE, 413
      LOG_UNSUPPORTED_COMPRESSION, 400
      LOG_DECOMPRESSION_LIMIT, 413
      CONTENT_TYPE_MISMATCH, 415
      UNKNOWN_CONTENT_TYPE, 415
      DECODE_FAILED, 400
      ENCODE_FAILED, 400
      DEADLINE_EXCEEDED, 504
      CIRCUIT_OPEN, 503
      BULKHEAD_FULL, 429
      SERVICE_FAILED, 502
      UNKNOWN_SERVICE_METHOD, 404
      REPLY_STREAM_BROKEN, 502
      INVALID_SERVICE_DEFINITION, 400
      UNKNOWN_SCHEMA, 400
      INVALID_DEADLINE, 400
      REPLY_STREAM_TOO_LONG, 413
      SERVICE_UNAVAILABLE, 503
      GRPC_STREAM_NOT_OPEN, 400
      GRPC_STREAM_ALREADY_OPEN, 400
      GRPC_UNKNOWN_DELIVERY, 400
      GRPC_INVALID_CREDIT, 400
      GRPC_UNKNOWN_REQUEST, 400
      GRPC_BATCH_TOO_LARGE, 400
      GRPC_TOO_MANY_IN_FLIGHT, 429
      """;

  static Stream<Arguments> rows() {
    return Arrays.stream(ROWS.strip().split("\n"))
        .map(line -> line.split(","))
        .map(p -> Arguments.of(ErrorCode.valueOf(p[0].trim()), Integer.parseInt(p[1].trim())));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rows")
  void shouldMapEachCodeToItsStatus(ErrorCode code, int status) {
    assertThat(HttpErrors.status(code)).isEqualTo(status);
    JsonNode p = HttpErrors.problem(SwitchboardException.of(code, "a", "b", "c", "d", "e"), "/x");
    assertThat(p.path("status").asInt()).isEqualTo(status);
    assertThat(p.path("code").asInt()).isEqualTo(code.number());
    assertThat(p.path("error").asText()).isEqualTo(code.name());
    assertThat(p.path("type").asText()).isEqualTo("urn:switchboard:error:" + code.number());
    assertThat(p.path("instance").asText()).isEqualTo("/x");
  }

  @Test
  void shouldHaveARowForEveryCode() {
    Set<String> rows =
        Arrays.stream(ROWS.strip().split("\n"))
            .map(line -> line.split(",")[0].trim())
            .collect(Collectors.toSet());
    Set<String> codes =
        EnumSet.allOf(ErrorCode.class).stream().map(Enum::name).collect(Collectors.toSet());
    assertThat(rows).isEqualTo(codes);
  }

  @Test
  void aRateQuotasRetryAfterIsItsOwnWaitRoundedUpToSeconds() {
    assertThat(
            HttpReply.problem(
                    SwitchboardException.of(
                        ErrorCode.QUOTA_RATE, "user:alice", "requests", 2, 1_500),
                    null)
                .headers())
        .containsEntry("Retry-After", "2");
  }

  @Test
  void shouldNameTheCurrentOffsetOfAConflict() {
    SwitchboardException e = SwitchboardException.of(ErrorCode.PUBLISH_CONFLICT, "order.1", 7, 3);
    assertThat(HttpErrors.problem(e, null).path("currentOffset").asLong()).isEqualTo(7);
    SwitchboardException none =
        SwitchboardException.of(ErrorCode.PUBLISH_CONFLICT, "order.1", -1, 3);
    assertThat(HttpErrors.currentOffset(none)).isEqualTo(-1);
  }

  @Test
  void shouldSayWhenToRetryOnlyForBackOffs() {
    assertThat(
            HttpReply.problem(SwitchboardException.of(ErrorCode.PUBLISH_BACKPRESSURE), null)
                .headers())
        .containsEntry("Retry-After", "1");
    assertThat(
            HttpReply.problem(SwitchboardException.of(ErrorCode.NO_RESPONDERS, "s"), null)
                .headers())
        .containsEntry("Retry-After", "1");
    assertThat(
            HttpReply.problem(SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, "s"), null)
                .headers())
        .doesNotContainKey("Retry-After");
  }
}
