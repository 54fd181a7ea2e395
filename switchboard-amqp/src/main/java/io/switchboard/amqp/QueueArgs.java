package io.switchboard.amqp;

import java.util.Map;
import java.util.Set;

/**
 * A queue's arguments, checked as RabbitMQ checks them ({@code rabbit_amqqueue} validators: a wrong
 * type or value is 406 PRECONDITION_FAILED naming the argument) and read for what they do
 * (docs/amqp.md). Arguments RabbitMQ does not know are kept and ignored, as RabbitMQ does;
 * arguments RabbitMQ knows and Switchboard does not apply are refused rather than accepted and
 * ignored.
 *
 * @param messageTtlMs {@code x-message-ttl}, or -1
 * @param expiresMs {@code x-expires}, or -1
 * @param maxLength {@code x-max-length}, or -1
 * @param maxLengthBytes {@code x-max-length-bytes}, or -1
 * @param rejectPublish {@code x-overflow} is reject-publish (or reject-publish-dlx), not drop-head
 * @param rejectPublishDlx {@code x-overflow} is reject-publish-dlx: a refused publish is also
 *     dead-lettered
 * @param deadLetterExchange {@code x-dead-letter-exchange}, or null
 * @param deadLetterRoutingKey {@code x-dead-letter-routing-key}, or null (the message's own)
 * @param singleActiveConsumer {@code x-single-active-consumer}
 */
record QueueArgs(
    long messageTtlMs,
    long expiresMs,
    long maxLength,
    long maxLengthBytes,
    boolean rejectPublish,
    boolean rejectPublishDlx,
    String deadLetterExchange,
    String deadLetterRoutingKey,
    boolean singleActiveConsumer) {

  static final QueueArgs NONE = new QueueArgs(-1, -1, -1, -1, false, false, null, null, false);

  /** RabbitMQ's own arguments Switchboard does not apply: refused, not silently ignored. */
  static final Set<String> NOT_SERVED =
      Set.of(
          "x-max-priority",
          "x-delivery-limit",
          "x-max-age",
          "x-stream-max-segment-size-bytes",
          "x-stream-filter-size-bytes",
          "x-initial-cluster-size",
          "x-quorum-initial-group-size",
          "x-quorum-target-group-size",
          "x-dead-letter-strategy",
          "x-max-in-memory-length",
          "x-max-in-memory-bytes");

  /** Reads {@code args} of queue {@code queue}; throws 406 as RabbitMQ for a bad one. */
  static QueueArgs of(String queue, Map<String, Object> args) {
    if (args == null || args.isEmpty()) {
      return NONE;
    }
    for (String k : args.keySet()) {
      if (NOT_SERVED.contains(k)) {
        throw invalid(queue, k, "not served by Switchboard (docs/amqp.md)");
      }
    }
    long ttl = integer(queue, args, "x-message-ttl", 0);
    long expires = integer(queue, args, "x-expires", 1);
    // 0 (a queue that keeps nothing) is legal in RabbitMQ and not served here: the stream limits
    // are at least 1 (docs/amqp.md).
    long maxLength = integer(queue, args, "x-max-length", 1);
    long maxBytes = integer(queue, args, "x-max-length-bytes", 1);
    String overflow = string(queue, args, "x-overflow");
    if (overflow != null
        && !Set.of("drop-head", "reject-publish", "reject-publish-dlx").contains(overflow)) {
      throw invalid(queue, "x-overflow", "{invalid_overflow,<<\"" + overflow + "\">>}");
    }
    String dlx = string(queue, args, "x-dead-letter-exchange");
    String dlrk = string(queue, args, "x-dead-letter-routing-key");
    if (dlrk != null && dlx == null) {
      throw invalid(queue, "x-dead-letter-routing-key", "routing_key_but_no_dlx_defined");
    }
    Object sac = args.get("x-single-active-consumer");
    if (sac != null && !(sac instanceof Boolean)) {
      throw invalid(queue, "x-single-active-consumer", unacceptable(sac));
    }
    String type = string(queue, args, "x-queue-type");
    if (type != null && !type.equals("classic") && !type.equals("quorum")) {
      throw invalid(
          queue, "x-queue-type", "queue type '" + type + "' is not served (classic, quorum are)");
    }
    String mode = string(queue, args, "x-queue-mode");
    if (mode != null && !mode.equals("default") && !mode.equals("lazy")) {
      throw invalid(queue, "x-queue-mode", "{unsupported_queue_mode,<<\"" + mode + "\">>}");
    }
    return new QueueArgs(
        ttl,
        expires,
        maxLength,
        maxBytes,
        overflow != null && overflow.startsWith("reject-publish"),
        "reject-publish-dlx".equals(overflow),
        dlx,
        dlrk,
        Boolean.TRUE.equals(sac));
  }

  /**
   * Whether messages dropped at the head for {@code x-max-length} are dead-lettered (a dead-letter
   * exchange and drop-head): then the queue's consumer drops them and the stream's own limit is
   * only a bound above it (see {@link #streamMaxMessages}).
   */
  boolean deadLettersOverflow() {
    return deadLetterExchange != null && !rejectPublish && maxLength > 0;
  }

  /**
   * The queue stream's message limit: {@code x-max-length}, or when the queue's consumer drops the
   * head itself to dead-letter it, a bound above that (twice, at least 10,000 more) which only a
   * dead-letter exchange slower than the publishers would reach.
   */
  long streamMaxMessages() {
    return deadLettersOverflow() ? maxLength + Math.max(maxLength, 10_000) : maxLength;
  }

  /** Reads a stored queue's arguments, not failing on ones a newer check would refuse. */
  static QueueArgs lenient(String queue, Map<String, Object> args) {
    try {
      return of(queue, args);
    } catch (AmqpException e) {
      return NONE;
    }
  }

  private static long integer(String queue, Map<String, Object> args, String key, long min) {
    Object v = args.get(key);
    if (v == null) {
      return -1;
    }
    if (!(v instanceof Byte || v instanceof Short || v instanceof Integer || v instanceof Long)) {
      throw invalid(queue, key, unacceptable(v));
    }
    long n = ((Number) v).longValue();
    if (n < min) {
      throw invalid(queue, key, n < 0 ? "{value_negative," + n + "}" : "{value_zero," + n + "}");
    }
    return n;
  }

  private static String string(String queue, Map<String, Object> args, String key) {
    Object v = args.get(key);
    if (v == null) {
      return null;
    }
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof byte[] b) {
      return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
    throw invalid(queue, key, unacceptable(v));
  }

  private static String unacceptable(Object v) {
    String type =
        switch (v) {
          case String s -> "longstr";
          case Boolean b -> "bool";
          case Byte b -> "byte";
          case Short s -> "short";
          case Integer i -> "signedint";
          case Long l -> "long";
          case Float f -> "float";
          case Double d -> "double";
          case java.math.BigDecimal d -> "decimal";
          case java.util.Date d -> "timestamp";
          case Map<?, ?> m -> "table";
          case java.util.List<?> l -> "array";
          case byte[] b -> "binary";
          default -> "void";
        };
    return "{unacceptable_type," + type + "}";
  }

  private static AmqpException invalid(String queue, String key, String problem) {
    return AmqpException.channel(
        AmqpException.PRECONDITION_FAILED,
        "invalid arg '" + key + "' for queue '" + queue + "' in vhost '/': " + problem);
  }
}
