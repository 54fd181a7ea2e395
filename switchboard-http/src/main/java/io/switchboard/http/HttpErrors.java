package io.switchboard.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.ErrorCategory;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one table from our error codes to HTTP statuses (CRAFT §6), and the RFC 9457 problem
 * documents that carry a code. Stateless, thread-safe.
 *
 * <p>A problem document: {@code {"type": "urn:switchboard:error:2010", "title": "stream not found",
 * "status": 404, "detail": "no stream named \"X\"", "code": 2010, "error": "STREAM_NOT_FOUND",
 * "retriable": false, "instance": "/v1/streams/X"}}. The {@code type} names the number because
 * numbers never change while names may; a PUBLISH_CONFLICT adds {@code currentOffset}.
 */
public final class HttpErrors {
  private HttpErrors() {}

  /** The media type of every error body (RFC 9457 §3). */
  public static final String PROBLEM_JSON = "application/problem+json";

  /**
   * The HTTP status for a code. Exhaustive on purpose: a new code does not compile until it has a
   * row here (and one in {@code HttpErrorsTest}).
   */
  public static int status(ErrorCode code) {
    return switch (code) {
      case INTERNAL -> 500;
      case INVALID_ARGUMENT,
          INVALID_CONFIG,
          INSECURE_BIND,
          INVALID_SUBJECT,
          INVALID_PATTERN,
          INVALID_DELAY,
          INVALID_BINDING,
          TOO_MANY_STREAM_SUBJECTS,
          TOO_MANY_GROUP_OFFSETS,
          SCHEMA_REQUIRED,
          SCHEMA_ID_UNKNOWN,
          SCHEMA_SUBJECT_MISMATCH,
          SCHEMA_PAYLOAD_INVALID ->
          400;
      // The schema registry's own answers (Confluent uses 422 for a schema it cannot take).
      case SCHEMA_INVALID, SCHEMA_VERSION_INVALID, SCHEMA_COMPATIBILITY_INVALID -> 422;
      case DEADLINE_EXPIRED -> 504;
      case SCHEMA_STORE_ERROR -> 500;
      // "No one listens" is not a timeout: 503 now, with its own code, vs 504 after the wait.
      case NO_RESPONDERS -> 503;
      case REQUEST_TIMEOUT -> 504;
      // Limits the caller can back off from: 429 with Retry-After.
      case TOO_MANY_PENDING_REQUESTS,
          PUBLISH_BACKPRESSURE,
          TOO_MANY_WAITING_FETCHES,
          TOO_MANY_SUBSCRIPTIONS,
          BINDING_BACKPRESSURE,
          GROUP_BACKPRESSURE,
          CONSUMER_BACKPRESSURE,
          QUOTA_RATE,
          QUOTA_CONNECTIONS,
          QUOTA_CONSUMERS,
          GRPC_TOO_MANY_IN_FLIGHT ->
          429;
      // The server (or a part of it) cannot take work now: 503 with Retry-After.
      case LIVE_BUS_CLOSED,
          BROKER_CLOSED,
          STREAM_FULL,
          PARTITION_CLOSED,
          CONSUMER_CLOSED,
          TOO_MANY_CONNECTIONS,
          SLOW_CONSUMER,
          SERVER_SHUTTING_DOWN,
          LOG_CLOSED ->
          503;
      case STREAM_NOT_FOUND,
          CONSUMER_NOT_FOUND,
          SUBSCRIPTION_NOT_FOUND,
          HTTP_NOT_FOUND,
          GROUP_NOT_FOUND,
          USER_NOT_FOUND,
          ACL_RULE_NOT_FOUND,
          SCHEMA_SUBJECT_NOT_FOUND,
          SCHEMA_VERSION_NOT_FOUND,
          SCHEMA_NOT_FOUND,
          SCHEMA_SUBJECT_NOT_SOFT_DELETED,
          SCHEMA_VERSION_NOT_SOFT_DELETED,
          SCHEMA_COMPATIBILITY_NOT_CONFIGURED,
          QUOTA_NOT_FOUND ->
          404;
      case STREAM_EXISTS,
          USER_EXISTS,
          CONSUMER_EXISTS,
          SUBSCRIPTION_EXISTS,
          STREAM_SUBJECTS_OVERLAP,
          STREAM_UPDATE_NOT_ALLOWED,
          CONSUMER_EXCLUSIVE,
          PRODUCER_FENCED,
          OUT_OF_ORDER_SEQUENCE,
          TOO_MANY_BINDINGS,
          STALE_GENERATION,
          UNKNOWN_GROUP_MEMBER,
          GROUP_NOT_EMPTY,
          SCHEMA_INCOMPATIBLE ->
          409;
      // Preconditions the client stated (If-Match, Sb-Expected-Stream) do not hold.
      case PUBLISH_CONFLICT, STREAM_MISMATCH -> 412;
      case MESSAGE_TOO_LARGE,
          HTTP_BODY_TOO_LARGE,
          FRAME_TOO_LARGE,
          LOG_BATCH_TOO_LARGE,
          LOG_DECOMPRESSION_LIMIT,
          OFFSET_METADATA_TOO_LARGE ->
          413;
      case SUBJECT_INDEX_FULL, TOO_MANY_GROUPS, SCHEMA_REGISTRY_FULL -> 507;
      case HTTP_REQUEST_INCOMPLETE, HANDSHAKE_TIMEOUT -> 408;
      case HTTP_METHOD_NOT_ALLOWED -> 405;
      case AUTHENTICATION_FAILED, AUTHENTICATION_REQUIRED -> 401;
      // Found by a client about its server (a SCRAM signature that does not verify); never sent.
      case SERVER_NOT_PROVEN -> 502;
      case HTTP_ORIGIN_NOT_ALLOWED, STREAM_RESERVED, CONSUMER_RESERVED, PERMISSION_DENIED -> 403;
      case HTTP_VERSION_NOT_SUPPORTED -> 505;
      case HTTP_SIMPLE_CONTENT_TYPE -> 415;
      case HTTP_HOST_NOT_ALLOWED -> 421;
      // Native-protocol codes, never produced by HTTP requests; mapped for completeness.
      case HTTP_MALFORMED_REQUEST,
          MALFORMED_FRAME,
          UNKNOWN_FRAME_TYPE,
          RESERVED_BITS_SET,
          INVALID_FIELD,
          FIELD_TOO_LARGE,
          BAD_MAGIC,
          UNSUPPORTED_VERSION,
          HANDSHAKE_REQUIRED,
          UNEXPECTED_FRAME,
          FEATURE_NOT_NEGOTIATED,
          LOG_OFFSET_OUT_OF_RANGE,
          LOG_INVALID_BATCH,
          LOG_UNSUPPORTED_COMPRESSION,
          // gRPC stream codes, never produced by HTTP requests either.
          GRPC_STREAM_NOT_OPEN,
          GRPC_STREAM_ALREADY_OPEN,
          GRPC_UNKNOWN_DELIVERY,
          GRPC_INVALID_CREDIT,
          GRPC_UNKNOWN_REQUEST,
          GRPC_BATCH_TOO_LARGE ->
          400;
      // A client-side code (the Java client could not reach a server) seen through a gateway.
      case CONNECTION_FAILED, CONNECTION_LOST -> 502;
      case LOG_IO_ERROR, LOG_FSYNC_FAILED, LOG_CORRUPT_SEGMENT -> 500;
      // Typed services (switchboard-services, docs/services.md): raised in clients or carried by
      // service error replies, never by the HTTP front end itself; mapped for gateways.
      case DECODE_FAILED,
          ENCODE_FAILED,
          INVALID_SERVICE_DEFINITION,
          UNKNOWN_SCHEMA,
          INVALID_DEADLINE ->
          400;
      case UNKNOWN_SERVICE_METHOD -> 404;
      case REPLY_STREAM_TOO_LONG -> 413;
      case CONTENT_TYPE_MISMATCH, UNKNOWN_CONTENT_TYPE -> 415;
      case BULKHEAD_FULL -> 429;
      case SERVICE_FAILED, REPLY_STREAM_BROKEN -> 502;
      case CIRCUIT_OPEN, SERVICE_UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      // Kafka transaction codes, never produced by HTTP requests; mapped for completeness.
      case KAFKA_TXN_TOO_LARGE -> 413;
      case KAFKA_TXN_MEMORY_FULL -> 503;
      case KAFKA_TXN_IDS_FULL -> 507;
      case KAFKA_TXN_LOG_CORRUPT -> 500;
    };
  }

  /** Whether a response with this code says when to retry (429 and 503 of retriable codes). */
  static boolean retryAfter(ErrorCode code) {
    int s = status(code);
    return (s == 429 || s == 503) && code.category() == ErrorCategory.RETRIABLE;
  }

  private static final Pattern QUOTA_RETRY = Pattern.compile("retry in (\\d+) ms$");

  /**
   * Seconds a 429/503 tells the client to wait: a quota's own wait rounded up, else 1. The quota
   * states it only in the detail, following the code's template.
   */
  static long retryAfterSeconds(SwitchboardException e) {
    if (e.code() == ErrorCode.QUOTA_RATE) {
      Matcher m = QUOTA_RETRY.matcher(e.detail());
      if (m.find()) {
        return Math.max(1, (Long.parseLong(m.group(1)) + 999) / 1000);
      }
    }
    return 1;
  }

  /** The failure inside a future's wrapping, as our exception ({@code INTERNAL} if foreign). */
  static SwitchboardException unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof SwitchboardException se) {
      return se;
    }
    // Not the exception's text: it names classes and internals. Callers log it (SB-HTTP-500x).
    return SwitchboardException.wrap(
        c, ErrorCode.INTERNAL, "unexpected failure; the server log has the details");
  }

  private static final Pattern CONFLICT_CURRENT = Pattern.compile("is at offset (-?\\d+), not");

  /**
   * The subject's current offset named by a PUBLISH_CONFLICT (-1: no event yet), or null. The
   * broker states it only in the detail, following the code's template.
   */
  static Long currentOffset(SwitchboardException e) {
    if (e.code() != ErrorCode.PUBLISH_CONFLICT) {
      return null;
    }
    Matcher m = CONFLICT_CURRENT.matcher(e.detail());
    return m.find() ? Long.parseLong(m.group(1)) : null;
  }

  /** The problem document for {@code e}, raised while serving {@code instance} (may be null). */
  static ObjectNode problem(SwitchboardException e, String instance) {
    ErrorCode code = e.code();
    ObjectNode n = AdminJson.JSON.createObjectNode();
    n.put("type", "urn:switchboard:error:" + code.number());
    n.put("title", code.name().toLowerCase(Locale.ROOT).replace('_', ' '));
    n.put("status", status(code));
    n.put("detail", e.detail());
    if (instance != null) {
      n.put("instance", instance);
    }
    n.put("code", code.number());
    n.put("error", code.name());
    n.put("retriable", code.category() == ErrorCategory.RETRIABLE);
    Long current = currentOffset(e);
    if (current != null) {
      n.put("currentOffset", current);
    }
    return n;
  }
}
