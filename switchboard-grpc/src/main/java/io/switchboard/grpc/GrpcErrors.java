package io.switchboard.grpc;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.switchboard.core.ErrorCategory;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.grpc.v1.Error;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one table from our error codes to gRPC status codes, and the status every failure is sent
 * with: the code's gRPC status, our message as its description, and a {@code google.rpc.ErrorInfo}
 * detail with {@code reason} = the code's name, {@code domain} = {@link #DOMAIN}, and metadata
 * {@code code} (the stable number) and {@code retriable}. Stateless, thread-safe.
 */
public final class GrpcErrors {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcErrors.class);

  /** {@code ErrorInfo.domain} of every Switchboard error. */
  public static final String DOMAIN = "switchboard.io";

  private GrpcErrors() {}

  /**
   * The gRPC status code for one of ours. Exhaustive on purpose: a new code does not compile until
   * it has a row here (and one in {@code GrpcErrorsTest}). Choices follow the gRPC status guide:
   * FAILED_PRECONDITION when the client must change the system's state first (a conflict on an
   * expected revision), ABORTED for concurrency conflicts a client retries at a higher level,
   * RESOURCE_EXHAUSTED for limits, UNAVAILABLE for what succeeds when retried as is.
   */
  public static Status.Code status(ErrorCode code) {
    return switch (code) {
      case INTERNAL, LOG_IO_ERROR, LOG_FSYNC_FAILED, LOG_CORRUPT_SEGMENT -> Status.Code.INTERNAL;
      case INVALID_ARGUMENT,
          INVALID_CONFIG,
          INSECURE_BIND,
          INVALID_SUBJECT,
          INVALID_PATTERN,
          INVALID_DELAY,
          INVALID_BINDING,
          TOO_MANY_STREAM_SUBJECTS,
          HTTP_MALFORMED_REQUEST,
          MALFORMED_FRAME,
          UNKNOWN_FRAME_TYPE,
          RESERVED_BITS_SET,
          INVALID_FIELD,
          FIELD_TOO_LARGE,
          BAD_MAGIC,
          UNSUPPORTED_VERSION,
          LOG_INVALID_BATCH,
          LOG_UNSUPPORTED_COMPRESSION,
          GRPC_STREAM_NOT_OPEN,
          GRPC_STREAM_ALREADY_OPEN,
          GRPC_UNKNOWN_DELIVERY,
          GRPC_INVALID_CREDIT,
          GRPC_UNKNOWN_REQUEST,
          GRPC_BATCH_TOO_LARGE ->
          Status.Code.INVALID_ARGUMENT;
      // "No one listens" is not a timeout: UNAVAILABLE at once, vs DEADLINE_EXCEEDED after waiting.
      case NO_RESPONDERS,
          LIVE_BUS_CLOSED,
          BROKER_CLOSED,
          PARTITION_CLOSED,
          CONSUMER_CLOSED,
          TOO_MANY_CONNECTIONS,
          SLOW_CONSUMER,
          SERVER_SHUTTING_DOWN,
          LOG_CLOSED,
          CONNECTION_FAILED,
          CONNECTION_LOST ->
          Status.Code.UNAVAILABLE;
      case REQUEST_TIMEOUT, HTTP_REQUEST_INCOMPLETE, HANDSHAKE_TIMEOUT ->
          Status.Code.DEADLINE_EXCEEDED;
      case TOO_MANY_PENDING_REQUESTS,
          PUBLISH_BACKPRESSURE,
          TOO_MANY_WAITING_FETCHES,
          TOO_MANY_SUBSCRIPTIONS,
          BINDING_BACKPRESSURE,
          GROUP_BACKPRESSURE,
          CONSUMER_BACKPRESSURE,
          GRPC_TOO_MANY_IN_FLIGHT,
          STREAM_FULL,
          TOO_MANY_BINDINGS,
          TOO_MANY_GROUPS,
          TOO_MANY_GROUP_OFFSETS,
          SUBJECT_INDEX_FULL,
          MESSAGE_TOO_LARGE,
          HTTP_BODY_TOO_LARGE,
          FRAME_TOO_LARGE,
          LOG_BATCH_TOO_LARGE,
          LOG_DECOMPRESSION_LIMIT,
          OFFSET_METADATA_TOO_LARGE ->
          Status.Code.RESOURCE_EXHAUSTED;
      case STREAM_NOT_FOUND,
          CONSUMER_NOT_FOUND,
          SUBSCRIPTION_NOT_FOUND,
          HTTP_NOT_FOUND,
          GROUP_NOT_FOUND,
          USER_NOT_FOUND,
          ACL_RULE_NOT_FOUND ->
          Status.Code.NOT_FOUND;
      case STREAM_EXISTS, USER_EXISTS, CONSUMER_EXISTS, SUBSCRIPTION_EXISTS ->
          Status.Code.ALREADY_EXISTS;
      case PUBLISH_CONFLICT,
          STREAM_MISMATCH,
          STREAM_SUBJECTS_OVERLAP,
          STREAM_UPDATE_NOT_ALLOWED,
          CONSUMER_EXCLUSIVE,
          GROUP_NOT_EMPTY,
          HANDSHAKE_REQUIRED,
          UNEXPECTED_FRAME,
          FEATURE_NOT_NEGOTIATED,
          LOG_OFFSET_OUT_OF_RANGE ->
          Status.Code.FAILED_PRECONDITION;
      case PRODUCER_FENCED, OUT_OF_ORDER_SEQUENCE, STALE_GENERATION, UNKNOWN_GROUP_MEMBER ->
          Status.Code.ABORTED;
      case AUTHENTICATION_FAILED, AUTHENTICATION_REQUIRED, SERVER_NOT_PROVEN ->
          Status.Code.UNAUTHENTICATED;
      case PERMISSION_DENIED,
          STREAM_RESERVED,
          CONSUMER_RESERVED,
          HTTP_ORIGIN_NOT_ALLOWED,
          HTTP_HOST_NOT_ALLOWED ->
          Status.Code.PERMISSION_DENIED;
      // Quotas (docs/security.md), the schema registry's bound, Kafka transaction bounds,
      // typed-service limits.
      case QUOTA_CONNECTIONS,
          QUOTA_CONSUMERS,
          QUOTA_RATE,
          SCHEMA_REGISTRY_FULL,
          KAFKA_TXN_TOO_LARGE,
          KAFKA_TXN_MEMORY_FULL,
          KAFKA_TXN_IDS_FULL,
          BULKHEAD_FULL,
          REPLY_STREAM_TOO_LONG ->
          Status.Code.RESOURCE_EXHAUSTED;
      // Quotas, the schema registry, typed services.
      case QUOTA_NOT_FOUND,
          SCHEMA_SUBJECT_NOT_FOUND,
          SCHEMA_VERSION_NOT_FOUND,
          SCHEMA_NOT_FOUND,
          SCHEMA_COMPATIBILITY_NOT_CONFIGURED,
          UNKNOWN_SERVICE_METHOD ->
          Status.Code.NOT_FOUND;
      // The schema registry: a permanent delete before a soft one; a schema its level refuses.
      case SCHEMA_SUBJECT_NOT_SOFT_DELETED, SCHEMA_VERSION_NOT_SOFT_DELETED, SCHEMA_INCOMPATIBLE ->
          Status.Code.FAILED_PRECONDITION;
      // The schema registry, a stream's required schema, typed-service codecs and headers.
      case SCHEMA_INVALID,
          SCHEMA_VERSION_INVALID,
          SCHEMA_COMPATIBILITY_INVALID,
          SCHEMA_REQUIRED,
          SCHEMA_ID_UNKNOWN,
          SCHEMA_SUBJECT_MISMATCH,
          SCHEMA_PAYLOAD_INVALID,
          CONTENT_TYPE_MISMATCH,
          UNKNOWN_CONTENT_TYPE,
          DECODE_FAILED,
          ENCODE_FAILED,
          INVALID_SERVICE_DEFINITION,
          UNKNOWN_SCHEMA,
          INVALID_DEADLINE ->
          Status.Code.INVALID_ARGUMENT;
      // Stores that failed, and a typed service's own failure (the method threw).
      case SCHEMA_STORE_ERROR, KAFKA_TXN_LOG_CORRUPT, SERVICE_FAILED -> Status.Code.INTERNAL;
      // A request whose sb-deadline passed (broker or typed services).
      case DEADLINE_EXPIRED, DEADLINE_EXCEEDED -> Status.Code.DEADLINE_EXCEEDED;
      // Typed services: an open circuit, a responder that says "try again", a broken reply stream.
      case CIRCUIT_OPEN, SERVICE_UNAVAILABLE, REPLY_STREAM_BROKEN -> Status.Code.UNAVAILABLE;
      case HTTP_METHOD_NOT_ALLOWED, HTTP_VERSION_NOT_SUPPORTED, HTTP_SIMPLE_CONTENT_TYPE ->
          Status.Code.UNIMPLEMENTED;
    };
  }

  /** The failure inside a future's wrapping, as our exception ({@code INTERNAL} if foreign). */
  public static SwitchboardException unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof SwitchboardException se) {
      return se;
    }
    LOG.warn("SB-GRPC-3300 unexpected failure answered as INTERNAL", c);
    return SwitchboardException.wrap(
        c, ErrorCode.INTERNAL, "unexpected failure; the server log has the details");
  }

  /** The {@code ErrorInfo} of one of our errors. */
  public static ErrorInfo errorInfo(SwitchboardException e) {
    ErrorCode code = e.code();
    return ErrorInfo.newBuilder()
        .setReason(code.name())
        .setDomain(DOMAIN)
        .putMetadata("code", Integer.toString(code.number()))
        .putMetadata("retriable", Boolean.toString(code.category() == ErrorCategory.RETRIABLE))
        .build();
  }

  /**
   * The status exception a call ends with for {@code t}: a gRPC status passes through; anything
   * else is one of ours (or INTERNAL) with its ErrorInfo.
   */
  public static StatusRuntimeException toStatus(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof StatusRuntimeException s) {
      return s;
    }
    if (c instanceof io.grpc.StatusException s) {
      return s.getStatus().asRuntimeException(s.getTrailers());
    }
    SwitchboardException e = unwrap(c);
    com.google.rpc.Status status =
        com.google.rpc.Status.newBuilder()
            .setCode(status(e.code()).value())
            .setMessage(e.getMessage())
            .addDetails(Any.pack(errorInfo(e)))
            .build();
    return StatusProto.toStatusRuntimeException(status);
  }

  /** {@link #toStatus} of {@code SwitchboardException.of(code, args)}. */
  public static StatusRuntimeException of(ErrorCode code, Object... args) {
    return toStatus(SwitchboardException.of(code, args));
  }

  /** A per-item error inside a stream (PublishStream acks). */
  public static Error itemError(Throwable t) {
    SwitchboardException e = unwrap(t);
    return Error.newBuilder()
        .setCode(e.code().number())
        .setReason(e.code().name())
        .setMessage(e.detail())
        .setRetriable(e.code().category() == ErrorCategory.RETRIABLE)
        .build();
  }
}
