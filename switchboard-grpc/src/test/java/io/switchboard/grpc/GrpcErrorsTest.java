package io.switchboard.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
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
 * The error → gRPC status table, row by row: each row is written out here, apart from {@link
 * GrpcErrors#status}, every code must have one, and the status a call ends with carries the code's
 * number, name and message in a {@code google.rpc.ErrorInfo}.
 */
class GrpcErrorsTest {
  static final String ROWS =
      """
      INTERNAL, INTERNAL
      INVALID_ARGUMENT, INVALID_ARGUMENT
      INVALID_CONFIG, INVALID_ARGUMENT
      INVALID_SUBJECT, INVALID_ARGUMENT
      INVALID_PATTERN, INVALID_ARGUMENT
      PERMISSION_DENIED, PERMISSION_DENIED
      USER_NOT_FOUND, NOT_FOUND
      USER_EXISTS, ALREADY_EXISTS
      ACL_RULE_NOT_FOUND, NOT_FOUND
      INSECURE_BIND, INVALID_ARGUMENT
      AUTHENTICATION_REQUIRED, UNAUTHENTICATED
      NO_RESPONDERS, UNAVAILABLE
      REQUEST_TIMEOUT, DEADLINE_EXCEEDED
      TOO_MANY_PENDING_REQUESTS, RESOURCE_EXHAUSTED
      LIVE_BUS_CLOSED, UNAVAILABLE
      STREAM_NOT_FOUND, NOT_FOUND
      STREAM_EXISTS, ALREADY_EXISTS
      STREAM_SUBJECTS_OVERLAP, FAILED_PRECONDITION
      STREAM_UPDATE_NOT_ALLOWED, FAILED_PRECONDITION
      STREAM_MISMATCH, FAILED_PRECONDITION
      BROKER_CLOSED, UNAVAILABLE
      STREAM_FULL, RESOURCE_EXHAUSTED
      STREAM_RESERVED, PERMISSION_DENIED
      TOO_MANY_STREAM_SUBJECTS, INVALID_ARGUMENT
      MESSAGE_TOO_LARGE, RESOURCE_EXHAUSTED
      PUBLISH_BACKPRESSURE, RESOURCE_EXHAUSTED
      PARTITION_CLOSED, UNAVAILABLE
      SUBJECT_INDEX_FULL, RESOURCE_EXHAUSTED
      PRODUCER_FENCED, ABORTED
      OUT_OF_ORDER_SEQUENCE, ABORTED
      CONSUMER_NOT_FOUND, NOT_FOUND
      CONSUMER_EXISTS, ALREADY_EXISTS
      TOO_MANY_WAITING_FETCHES, RESOURCE_EXHAUSTED
      CONSUMER_CLOSED, UNAVAILABLE
      CONSUMER_EXCLUSIVE, FAILED_PRECONDITION
      CONSUMER_RESERVED, PERMISSION_DENIED
      INVALID_DELAY, INVALID_ARGUMENT
      INVALID_BINDING, INVALID_ARGUMENT
      TOO_MANY_BINDINGS, RESOURCE_EXHAUSTED
      BINDING_BACKPRESSURE, RESOURCE_EXHAUSTED
      GROUP_NOT_FOUND, NOT_FOUND
      STALE_GENERATION, ABORTED
      UNKNOWN_GROUP_MEMBER, ABORTED
      GROUP_NOT_EMPTY, FAILED_PRECONDITION
      TOO_MANY_GROUPS, RESOURCE_EXHAUSTED
      TOO_MANY_GROUP_OFFSETS, RESOURCE_EXHAUSTED
      OFFSET_METADATA_TOO_LARGE, RESOURCE_EXHAUSTED
      GROUP_BACKPRESSURE, RESOURCE_EXHAUSTED
      CONSUMER_BACKPRESSURE, RESOURCE_EXHAUSTED
      PUBLISH_CONFLICT, FAILED_PRECONDITION
      MALFORMED_FRAME, INVALID_ARGUMENT
      FRAME_TOO_LARGE, RESOURCE_EXHAUSTED
      UNKNOWN_FRAME_TYPE, INVALID_ARGUMENT
      RESERVED_BITS_SET, INVALID_ARGUMENT
      INVALID_FIELD, INVALID_ARGUMENT
      FIELD_TOO_LARGE, INVALID_ARGUMENT
      BAD_MAGIC, INVALID_ARGUMENT
      UNSUPPORTED_VERSION, INVALID_ARGUMENT
      HANDSHAKE_REQUIRED, FAILED_PRECONDITION
      HANDSHAKE_TIMEOUT, DEADLINE_EXCEEDED
      UNEXPECTED_FRAME, FAILED_PRECONDITION
      AUTHENTICATION_FAILED, UNAUTHENTICATED
      TOO_MANY_CONNECTIONS, UNAVAILABLE
      TOO_MANY_SUBSCRIPTIONS, RESOURCE_EXHAUSTED
      SUBSCRIPTION_EXISTS, ALREADY_EXISTS
      SUBSCRIPTION_NOT_FOUND, NOT_FOUND
      SLOW_CONSUMER, UNAVAILABLE
      SERVER_SHUTTING_DOWN, UNAVAILABLE
      FEATURE_NOT_NEGOTIATED, FAILED_PRECONDITION
      CONNECTION_FAILED, UNAVAILABLE
      CONNECTION_LOST, UNAVAILABLE
      HTTP_BODY_TOO_LARGE, RESOURCE_EXHAUSTED
      HTTP_REQUEST_INCOMPLETE, DEADLINE_EXCEEDED
      HTTP_NOT_FOUND, NOT_FOUND
      HTTP_METHOD_NOT_ALLOWED, UNIMPLEMENTED
      HTTP_MALFORMED_REQUEST, INVALID_ARGUMENT
      HTTP_ORIGIN_NOT_ALLOWED, PERMISSION_DENIED
      HTTP_VERSION_NOT_SUPPORTED, UNIMPLEMENTED
      HTTP_SIMPLE_CONTENT_TYPE, UNIMPLEMENTED
      HTTP_HOST_NOT_ALLOWED, PERMISSION_DENIED
      GRPC_STREAM_NOT_OPEN, INVALID_ARGUMENT
      GRPC_STREAM_ALREADY_OPEN, INVALID_ARGUMENT
      GRPC_UNKNOWN_DELIVERY, INVALID_ARGUMENT
      GRPC_INVALID_CREDIT, INVALID_ARGUMENT
      GRPC_UNKNOWN_REQUEST, INVALID_ARGUMENT
      GRPC_TOO_MANY_IN_FLIGHT, RESOURCE_EXHAUSTED
      LOG_IO_ERROR, INTERNAL
      LOG_FSYNC_FAILED, INTERNAL
      LOG_CLOSED, UNAVAILABLE
      LOG_OFFSET_OUT_OF_RANGE, FAILED_PRECONDITION
      LOG_CORRUPT_SEGMENT, INTERNAL
      LOG_INVALID_BATCH, INVALID_ARGUMENT
      LOG_BATCH_TOO_LARGE, RESOURCE_EXHAUSTED
      LOG_UNSUPPORTED_COMPRESSION, INVALID_ARGUMENT
      LOG_DECOMPRESSION_LIMIT, RESOURCE_EXHAUSTED
      """;

  static Stream<Arguments> rows() {
    return Arrays.stream(ROWS.strip().split("\n"))
        .map(line -> line.split(","))
        .map(p -> Arguments.of(ErrorCode.valueOf(p[0].trim()), Status.Code.valueOf(p[1].trim())));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rows")
  void shouldMapEachCodeToItsStatusWithErrorInfo(ErrorCode code, Status.Code expected)
      throws Exception {
    assertThat(GrpcErrors.status(code)).isEqualTo(expected);
    StatusRuntimeException e =
        GrpcErrors.toStatus(SwitchboardException.of(code, "a", "b", "c", "d", "e"));
    assertThat(e.getStatus().getCode()).isEqualTo(expected);
    assertThat(e.getStatus().getDescription()).contains(String.valueOf(code.number()));
    com.google.rpc.Status s = StatusProto.fromThrowable(e);
    assertThat(s).isNotNull();
    ErrorInfo info = s.getDetails(0).unpack(ErrorInfo.class);
    assertThat(info.getReason()).isEqualTo(code.name());
    assertThat(info.getDomain()).isEqualTo(GrpcErrors.DOMAIN);
    assertThat(info.getMetadataMap()).containsEntry("code", String.valueOf(code.number()));
  }

  @Test
  void shouldHaveARowForEveryCode() {
    Set<ErrorCode> inTable = rows().map(a -> (ErrorCode) a.get()[0]).collect(Collectors.toSet());
    assertThat(EnumSet.complementOf(EnumSet.copyOf(inTable))).isEmpty();
  }

  @Test
  void shouldAnswerAForeignFailureAsInternalWithoutItsText() {
    StatusRuntimeException e = GrpcErrors.toStatus(new IllegalStateException("secret internals"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(e.getStatus().getDescription()).doesNotContain("secret");
  }
}
