package io.switchboard.core;

import java.util.HashMap;
import java.util.Map;

/**
 * The one catalogue of Switchboard error codes. Immutable, thread-safe.
 *
 * <p>Each code has a stable number that goes on the wire and into logs. Names and message templates
 * may change; numbers never change and are never reused once released. Ranges: 1–999 general (20–39
 * security), 1000–1999 storage (log), 2000–2999 broker, 3000–3999 protocols (3100–3199 HTTP).
 * {@code docs/errors.md} is generated from this enum (see {@code ErrorCatalogueDocTest}).
 *
 * <p>Message templates use {@code {}} placeholders filled in order by {@link #format(Object...)}.
 */
public enum ErrorCode {
  INTERNAL(1, ErrorCategory.SERVER, "internal error: {}"),
  INVALID_ARGUMENT(2, ErrorCategory.CLIENT, "invalid argument: {}"),
  INVALID_CONFIG(3, ErrorCategory.CLIENT, "invalid configuration: {}"),
  INVALID_SUBJECT(10, ErrorCategory.CLIENT, "invalid subject \"{}\": {}"),
  INVALID_PATTERN(11, ErrorCategory.CLIENT, "invalid subject pattern \"{}\": {}"),
  PERMISSION_DENIED(20, ErrorCategory.CLIENT, "{} may not {} {}"),
  USER_NOT_FOUND(21, ErrorCategory.CLIENT, "no user named \"{}\""),
  USER_EXISTS(22, ErrorCategory.CLIENT, "a user named \"{}\" already exists"),
  ACL_RULE_NOT_FOUND(23, ErrorCategory.CLIENT, "no rule with id \"{}\""),
  INSECURE_BIND(
      24,
      ErrorCategory.CLIENT,
      "listeners bind to {}, which is not a loopback address, and auth.required is false: anyone"
          + " who reaches the port could publish, read and delete every stream. Set"
          + " auth.required=true (and add users or token keys), or start with --insecure to accept"
          + " that"),
  AUTHENTICATION_REQUIRED(25, ErrorCategory.CLIENT, "this server requires authentication: {}"),
  QUOTA_CONNECTIONS(
      26, ErrorCategory.RETRIABLE, "{} has {} connections open (its connection quota)"),
  QUOTA_CONSUMERS(
      27,
      ErrorCategory.RETRIABLE,
      "{} has {} subscriptions and consumers open (its subscription quota)"),
  QUOTA_RATE(
      28, ErrorCategory.RETRIABLE, "{} is over its {} quota of {} per second; retry in {} ms"),
  QUOTA_NOT_FOUND(29, ErrorCategory.CLIENT, "no quota is set for \"{}\""),
  SERVER_NOT_PROVEN(
      40,
      ErrorCategory.FATAL,
      "the server did not prove that it knows {}'s SCRAM credential ({}): it may not be the"
          + " server it claims to be"),

  NO_RESPONDERS(2000, ErrorCategory.RETRIABLE, "no responders are subscribed to \"{}\""),
  REQUEST_TIMEOUT(2001, ErrorCategory.RETRIABLE, "no reply to \"{}\" within {} ms"),
  TOO_MANY_PENDING_REQUESTS(
      2002, ErrorCategory.RETRIABLE, "{} requests are already waiting for replies (the limit)"),
  LIVE_BUS_CLOSED(2003, ErrorCategory.RETRIABLE, "the live bus is closed"),
  STREAM_NOT_FOUND(2010, ErrorCategory.CLIENT, "no stream named \"{}\""),
  STREAM_EXISTS(2011, ErrorCategory.CLIENT, "a stream named \"{}\" already exists"),
  STREAM_SUBJECTS_OVERLAP(
      2012,
      ErrorCategory.CLIENT,
      "subjects of stream \"{}\" ({}) overlap those of stream \"{}\" ({})"),
  STREAM_UPDATE_NOT_ALLOWED(2013, ErrorCategory.CLIENT, "stream \"{}\": {} cannot be changed"),
  STREAM_MISMATCH(
      2014, ErrorCategory.CLIENT, "subject \"{}\" is captured by {}, not by stream \"{}\""),
  BROKER_CLOSED(2015, ErrorCategory.RETRIABLE, "the broker is closed"),
  STREAM_FULL(
      2016,
      ErrorCategory.RETRIABLE,
      "stream \"{}\" partition {} is full ({}); its discard policy rejects new messages"),
  STREAM_RESERVED(
      2017,
      ErrorCategory.CLIENT,
      "stream \"{}\" belongs to the server ({}); it cannot be {} through the admin API"),
  TOO_MANY_STREAM_SUBJECTS(
      2018, ErrorCategory.CLIENT, "stream \"{}\" lists {} subjects; the limit is {}"),
  MESSAGE_TOO_LARGE(
      2020, ErrorCategory.CLIENT, "message of {} bytes exceeds stream \"{}\"'s limit of {} bytes"),
  PUBLISH_BACKPRESSURE(
      2021,
      ErrorCategory.RETRIABLE,
      "stream \"{}\" partition {} has {} publishes queued (the limit); retry later"),
  PARTITION_CLOSED(2022, ErrorCategory.RETRIABLE, "stream \"{}\" partition {} is closed"),
  SUBJECT_INDEX_FULL(
      2023,
      ErrorCategory.SERVER,
      "stream \"{}\" partition {} indexes {} subjects (the limit); \"{}\" is not among them"),
  PRODUCER_FENCED(
      2025,
      ErrorCategory.FATAL,
      "producer {} epoch {} is fenced: epoch {} has taken over on stream \"{}\" partition {}"),
  OUT_OF_ORDER_SEQUENCE(
      2026, ErrorCategory.CLIENT, "producer {} epoch {}: sequence {} rejected ({})"),
  CONSUMER_NOT_FOUND(2030, ErrorCategory.CLIENT, "stream \"{}\" has no consumer \"{}\""),
  CONSUMER_EXISTS(2031, ErrorCategory.CLIENT, "stream \"{}\" already has a consumer \"{}\""),
  TOO_MANY_WAITING_FETCHES(
      2032, ErrorCategory.RETRIABLE, "consumer \"{}\" has {} fetches waiting (the limit)"),
  CONSUMER_CLOSED(2033, ErrorCategory.RETRIABLE, "consumer \"{}\" is closed"),
  CONSUMER_EXCLUSIVE(
      2034,
      ErrorCategory.RETRIABLE,
      "consumer \"{}\" is exclusive and held by member \"{}\"; \"{}\" may not fetch"),
  CONSUMER_RESERVED(
      2035,
      ErrorCategory.CLIENT,
      "consumer \"{}\" of stream \"{}\" belongs to the server ({}); it cannot be {} through the"
          + " admin API"),
  INVALID_DELAY(2040, ErrorCategory.CLIENT, "invalid delayed delivery of \"{}\": {}"),
  INVALID_BINDING(2050, ErrorCategory.CLIENT, "invalid binding \"{}\": {}"),
  TOO_MANY_BINDINGS(2051, ErrorCategory.CLIENT, "the broker holds {} bindings (the limit)"),
  BINDING_BACKPRESSURE(
      2052,
      ErrorCategory.RETRIABLE,
      "{} binding changes are waiting to be stored (the limit); retry later"),
  GROUP_NOT_FOUND(2060, ErrorCategory.CLIENT, "no consumer group \"{}\""),
  STALE_GENERATION(
      2061,
      ErrorCategory.CLIENT,
      "consumer group \"{}\" is at generation {}, not {}; the member must rejoin"),
  UNKNOWN_GROUP_MEMBER(
      2062,
      ErrorCategory.CLIENT,
      "consumer group \"{}\" generation {} has no member \"{}\"; the member must rejoin"),
  GROUP_NOT_EMPTY(
      2063, ErrorCategory.CLIENT, "consumer group \"{}\" has members (generation {}): {}"),
  TOO_MANY_GROUPS(
      2064,
      ErrorCategory.CLIENT,
      "{} consumer groups exist (the limit, broker max groups); \"{}\" cannot be added"),
  TOO_MANY_GROUP_OFFSETS(
      2065,
      ErrorCategory.CLIENT,
      "consumer group \"{}\" would hold {} committed offsets; the limit is {}"),
  OFFSET_METADATA_TOO_LARGE(
      2066,
      ErrorCategory.CLIENT,
      "offset metadata of {} bytes for {} exceeds the limit of {} bytes"),
  GROUP_BACKPRESSURE(
      2067,
      ErrorCategory.RETRIABLE,
      "the consumer group coordinator has {} requests queued (the limit); retry later"),
  CONSUMER_BACKPRESSURE(
      2068,
      ErrorCategory.RETRIABLE,
      "consumer \"{}\" has {} commands queued (the limit); retry later"),
  PUBLISH_CONFLICT(
      2024,
      ErrorCategory.CLIENT,
      "subject \"{}\" is at offset {}, not the expected {}; the publish was not stored"),
  // 2100-2129: schema registry, stream schemas, request deadlines (issue 17).
  SCHEMA_SUBJECT_NOT_FOUND(2100, ErrorCategory.CLIENT, "schema subject \"{}\" not found"),
  SCHEMA_VERSION_NOT_FOUND(2101, ErrorCategory.CLIENT, "schema subject \"{}\" has no version {}"),
  SCHEMA_NOT_FOUND(2102, ErrorCategory.CLIENT, "schema {} not found"),
  SCHEMA_SUBJECT_NOT_SOFT_DELETED(
      2103,
      ErrorCategory.CLIENT,
      "schema subject \"{}\" was not deleted first before being permanently deleted"),
  SCHEMA_VERSION_NOT_SOFT_DELETED(
      2104,
      ErrorCategory.CLIENT,
      "schema subject \"{}\" version {} was not deleted first before being permanently deleted"),
  SCHEMA_INCOMPATIBLE(
      2105,
      ErrorCategory.CLIENT,
      "schema being registered is incompatible with an earlier schema for subject \"{}\" ({}): {}"),
  SCHEMA_INVALID(2106, ErrorCategory.CLIENT, "invalid {} schema: {}"),
  SCHEMA_VERSION_INVALID(
      2107,
      ErrorCategory.CLIENT,
      "\"{}\" is not a schema version: a number from 1 to 2147483647, or latest"),
  SCHEMA_COMPATIBILITY_INVALID(
      2108,
      ErrorCategory.CLIENT,
      "\"{}\" is not a compatibility level: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,"
          + " FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE"),
  SCHEMA_COMPATIBILITY_NOT_CONFIGURED(
      2109, ErrorCategory.CLIENT, "schema subject \"{}\" has no compatibility level of its own"),
  SCHEMA_REGISTRY_FULL(2110, ErrorCategory.CLIENT, "the schema registry is full: {}"),
  SCHEMA_STORE_ERROR(
      2111, ErrorCategory.SERVER, "the schema registry could not store the change: {}"),
  SCHEMA_REQUIRED(
      2115,
      ErrorCategory.CLIENT,
      "stream \"{}\" requires schema subject \"{}\": the message on \"{}\" names no schema ({})"),
  SCHEMA_ID_UNKNOWN(
      2116,
      ErrorCategory.CLIENT,
      "stream \"{}\": the message on \"{}\" names unknown schema id {}"),
  SCHEMA_SUBJECT_MISMATCH(
      2117,
      ErrorCategory.CLIENT,
      "stream \"{}\": schema id {} is not a version of subject \"{}\" (the stream's schema)"),
  SCHEMA_PAYLOAD_INVALID(
      2118,
      ErrorCategory.CLIENT,
      "stream \"{}\": the payload on \"{}\" does not decode with schema id {}: {}"),
  DEADLINE_EXPIRED(
      2120,
      ErrorCategory.RETRIABLE,
      "the request to \"{}\" expired {} ms before the broker could deliver it (sb-deadline)"),

  // 2130–2159: typed services (switchboard-services, docs/services.md).
  CONTENT_TYPE_MISMATCH(
      2130,
      ErrorCategory.CLIENT,
      "{} speaks content type {}, but the message on \"{}\" is {}: caller and responder must use"
          + " the same codec"),
  UNKNOWN_CONTENT_TYPE(
      2131, ErrorCategory.CLIENT, "no codec for content type \"{}\" (on \"{}\"); known: {}"),
  DECODE_FAILED(2132, ErrorCategory.CLIENT, "{} bytes on \"{}\" do not decode as {} with {}: {}"),
  ENCODE_FAILED(2133, ErrorCategory.CLIENT, "{} cannot be encoded with {}: {}"),
  DEADLINE_EXCEEDED(
      2134, ErrorCategory.RETRIABLE, "the deadline of the call to \"{}\" passed {} ms ago{}"),
  CIRCUIT_OPEN(
      2135,
      ErrorCategory.RETRIABLE,
      "the circuit breaker for \"{}\" is {}: calls are refused until it lets a trial call through"),
  BULKHEAD_FULL(
      2136, ErrorCategory.RETRIABLE, "{} calls to service \"{}\" are in flight (the limit)"),
  SERVICE_FAILED(2137, ErrorCategory.SERVER, "service method \"{}\" failed: {}"),
  UNKNOWN_SERVICE_METHOD(2138, ErrorCategory.CLIENT, "service \"{}\" has no method \"{}\""),
  REPLY_STREAM_BROKEN(
      2139, ErrorCategory.RETRIABLE, "the reply stream from \"{}\" {}; {} items had arrived"),
  INVALID_SERVICE_DEFINITION(2140, ErrorCategory.CLIENT, "{} is not a valid service: {}"),
  UNKNOWN_SCHEMA(
      2141,
      ErrorCategory.CLIENT,
      "the Avro writer schema with fingerprint {} is unknown here: register it with the codec"),
  INVALID_DEADLINE(
      2142, ErrorCategory.CLIENT, "header sb-deadline \"{}\" is not epoch milliseconds"),
  REPLY_STREAM_TOO_LONG(
      2143,
      ErrorCategory.CLIENT,
      "the reply stream from \"{}\" has more than {} items (the limit)"),
  SERVICE_UNAVAILABLE(
      2144,
      ErrorCategory.RETRIABLE,
      "service method \"{}\" is unavailable for now: {}; an idempotent call is retried"),

  MALFORMED_FRAME(3000, ErrorCategory.CLIENT, "malformed {} frame: {}"),
  FRAME_TOO_LARGE(3001, ErrorCategory.CLIENT, "frame of {} bytes exceeds the limit of {} bytes"),
  UNKNOWN_FRAME_TYPE(3002, ErrorCategory.CLIENT, "unknown frame type 0x{}"),
  RESERVED_BITS_SET(3003, ErrorCategory.CLIENT, "{} frame: reserved bits set in {} (0x{})"),
  INVALID_FIELD(3004, ErrorCategory.CLIENT, "{} frame: invalid {}: {}"),
  FIELD_TOO_LARGE(3005, ErrorCategory.CLIENT, "{} frame: {} of {} exceeds the limit of {}"),
  BAD_MAGIC(3006, ErrorCategory.CLIENT, "not a Switchboard client: magic 0x{}, expected 0x{}"),
  UNSUPPORTED_VERSION(
      3007,
      ErrorCategory.CLIENT,
      "protocol versions {} to {} requested; this side speaks {} to {}"),
  HANDSHAKE_REQUIRED(3008, ErrorCategory.CLIENT, "{} frame before the handshake; expected {}"),
  HANDSHAKE_TIMEOUT(3009, ErrorCategory.CLIENT, "no handshake within {} ms"),
  UNEXPECTED_FRAME(3010, ErrorCategory.CLIENT, "{} frame not accepted {}"),
  AUTHENTICATION_FAILED(3011, ErrorCategory.CLIENT, "authentication failed: {}"),
  TOO_MANY_CONNECTIONS(3020, ErrorCategory.RETRIABLE, "{} connections are open (the limit)"),
  TOO_MANY_SUBSCRIPTIONS(
      3021, ErrorCategory.CLIENT, "this connection has {} subscriptions (the limit)"),
  SUBSCRIPTION_EXISTS(3022, ErrorCategory.CLIENT, "subscription id {} is already in use"),
  SUBSCRIPTION_NOT_FOUND(3023, ErrorCategory.CLIENT, "no subscription with id {}"),
  SLOW_CONSUMER(
      3024,
      ErrorCategory.RETRIABLE,
      "{} bytes are waiting to be written to this connection (the limit is {}); closing it"),
  SERVER_SHUTTING_DOWN(3025, ErrorCategory.RETRIABLE, "the server is shutting down"),
  FEATURE_NOT_NEGOTIATED(
      3026, ErrorCategory.CLIENT, "{} frame needs feature {}, which was not negotiated"),
  CONNECTION_FAILED(3030, ErrorCategory.RETRIABLE, "cannot connect to {}: {}"),
  CONNECTION_LOST(3031, ErrorCategory.RETRIABLE, "the connection to {} was lost{}"),
  HTTP_BODY_TOO_LARGE(
      3100, ErrorCategory.CLIENT, "request body of {} bytes exceeds the limit of {} bytes"),
  HTTP_REQUEST_INCOMPLETE(
      3101, ErrorCategory.CLIENT, "the request was not received in full within {} ms"),
  HTTP_NOT_FOUND(3102, ErrorCategory.CLIENT, "no resource at {}"),
  HTTP_METHOD_NOT_ALLOWED(3103, ErrorCategory.CLIENT, "{} is not allowed on {}; allowed: {}"),
  HTTP_MALFORMED_REQUEST(3104, ErrorCategory.CLIENT, "malformed HTTP request: {}"),
  HTTP_ORIGIN_NOT_ALLOWED(
      3105,
      ErrorCategory.CLIENT,
      "requests that change state (and WebSockets) from origin {} are not allowed; list it in"
          + " http.cors-origins"),
  HTTP_VERSION_NOT_SUPPORTED(
      3106, ErrorCategory.CLIENT, "HTTP version {} is not supported; use HTTP/1.1 or HTTP/1.0"),
  HTTP_SIMPLE_CONTENT_TYPE(
      3107,
      ErrorCategory.CLIENT,
      "a {} with Content-Type {} and no credentials could be sent by any web page; send another"
          + " type (application/json, application/octet-stream) or an Authorization header"),
  HTTP_HOST_NOT_ALLOWED(
      3108,
      ErrorCategory.CLIENT,
      "Host {} is not a name of this server (DNS rebinding?); list it in http.allowed-hosts"),
  KAFKA_TXN_TOO_LARGE(
      3250,
      ErrorCategory.CLIENT,
      "transaction {} would hold {} bytes of records; at most {} (kafka.transaction-max-bytes)"),
  KAFKA_TXN_MEMORY_FULL(
      3251,
      ErrorCategory.RETRIABLE,
      "open transactions hold {} bytes of records; at most {} (kafka.transactions-max-bytes)"),
  KAFKA_TXN_IDS_FULL(
      3252,
      ErrorCategory.CLIENT,
      "{} transactional ids are known; at most {} (kafka.transactional-ids-max)"),
  KAFKA_TXN_LOG_CORRUPT(
      3253, ErrorCategory.FATAL, "the Kafka transaction log {} is damaged at position {}: {}"),

  GRPC_STREAM_NOT_OPEN(
      3300, ErrorCategory.CLIENT, "{} stream: the first message must be \"{}\", got \"{}\""),
  GRPC_STREAM_ALREADY_OPEN(
      3301, ErrorCategory.CLIENT, "{} stream: \"{}\" is accepted only as the first message"),
  GRPC_UNKNOWN_DELIVERY(
      3302,
      ErrorCategory.CLIENT,
      "no delivery \"{}\" is outstanding on this Consume stream (settled, expired or never sent)"),
  GRPC_INVALID_CREDIT(3303, ErrorCategory.CLIENT, "credit {} is not in [1, {}]"),
  GRPC_UNKNOWN_REQUEST(
      3304, ErrorCategory.CLIENT, "no request \"{}\" is waiting for a reply from this responder"),
  GRPC_TOO_MANY_IN_FLIGHT(
      3305,
      ErrorCategory.RETRIABLE,
      "{} {} are already waiting on this stream (the limit); wait for their answers"),
  GRPC_BATCH_TOO_LARGE(
      3306, ErrorCategory.CLIENT, "a PublishStream request carries {} messages; at most {}"),
  LOG_IO_ERROR(1000, ErrorCategory.SERVER, "I/O error on {}: {}"),
  LOG_FSYNC_FAILED(
      1001, ErrorCategory.FATAL, "fsync failed on {}; the log accepts no more appends: {}"),
  LOG_CLOSED(1002, ErrorCategory.RETRIABLE, "log {} is closed"),
  LOG_OFFSET_OUT_OF_RANGE(
      1003, ErrorCategory.CLIENT, "offset {} is outside the log's range [{}, {}]"),
  LOG_CORRUPT_SEGMENT(
      1004,
      ErrorCategory.FATAL,
      "sealed segment {} is damaged at position {} ({}); the log serves nothing past offset {}"),
  LOG_INVALID_BATCH(1005, ErrorCategory.CLIENT, "invalid record batch: {}"),
  LOG_BATCH_TOO_LARGE(
      1006, ErrorCategory.CLIENT, "record batch of {} bytes exceeds the limit of {} bytes"),
  LOG_UNSUPPORTED_COMPRESSION(1007, ErrorCategory.CLIENT, "unsupported compression codec id {}"),
  LOG_DECOMPRESSION_LIMIT(
      1008,
      ErrorCategory.CLIENT,
      "compressed batch expands beyond the limit of {} bytes; it was not inflated");

  private static final Map<Integer, ErrorCode> BY_NUMBER = new HashMap<>();

  static {
    for (ErrorCode code : values()) {
      ErrorCode previous = BY_NUMBER.put(code.number, code);
      if (previous != null) {
        throw new ExceptionInInitializerError(
            "error number " + code.number + " used by " + previous + " and " + code);
      }
    }
  }

  private final int number;
  private final ErrorCategory category;
  private final String template;

  ErrorCode(int number, ErrorCategory category, String template) {
    this.number = number;
    this.category = category;
    this.template = template;
  }

  /** The stable number of this code, as sent on the wire. */
  public int number() {
    return number;
  }

  public ErrorCategory category() {
    return category;
  }

  /** The message template, with {@code {}} placeholders. */
  public String template() {
    return template;
  }

  /** Looks a code up by its stable number; {@code null} when the number is unknown. */
  public static ErrorCode byNumber(int number) {
    return BY_NUMBER.get(number);
  }

  /**
   * Fills the template's placeholders in order. Missing arguments leave {@code {}} in place; extra
   * arguments are ignored.
   */
  public String format(Object... args) {
    StringBuilder out = new StringBuilder(template.length() + 32);
    int argIndex = 0;
    int from = 0;
    while (true) {
      int at = template.indexOf("{}", from);
      if (at < 0 || argIndex >= args.length) {
        out.append(template, from, template.length());
        return out.toString();
      }
      out.append(template, from, at).append(args[argIndex++]);
      from = at + 2;
    }
  }
}
