package io.switchboard.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The MQTT adapter's tables (CRAFT §6): our error codes to MQTT 5 reason codes, message headers to
 * MQTT 5 properties, and the topic-filter syntax check. Stateless, thread-safe.
 */
final class MqttReasons {
  private MqttReasons() {}

  /** MQTT 5 PUBACK/PUBREC reason codes (spec 3.4.2.1). */
  static final byte UNSPECIFIED_ERROR = (byte) 0x80;

  static final byte IMPLEMENTATION_SPECIFIC_ERROR = (byte) 0x83;
  static final byte NOT_AUTHORIZED = (byte) 0x87;
  static final byte TOPIC_NAME_INVALID = (byte) 0x90;
  static final byte QUOTA_EXCEEDED = (byte) 0x97;
  static final byte PAYLOAD_FORMAT_INVALID = (byte) 0x99;

  /** Error code to PUBACK/PUBREC reason; codes not listed are {@link #UNSPECIFIED_ERROR}. */
  static final Map<ErrorCode, Byte> PUBLISH_REASONS =
      Map.ofEntries(
          Map.entry(ErrorCode.INVALID_SUBJECT, TOPIC_NAME_INVALID),
          Map.entry(ErrorCode.PERMISSION_DENIED, NOT_AUTHORIZED),
          Map.entry(ErrorCode.MESSAGE_TOO_LARGE, QUOTA_EXCEEDED),
          Map.entry(ErrorCode.STREAM_FULL, QUOTA_EXCEEDED),
          Map.entry(ErrorCode.PUBLISH_BACKPRESSURE, QUOTA_EXCEEDED),
          Map.entry(ErrorCode.SUBJECT_INDEX_FULL, QUOTA_EXCEEDED),
          Map.entry(ErrorCode.INVALID_DELAY, PAYLOAD_FORMAT_INVALID),
          Map.entry(ErrorCode.PUBLISH_CONFLICT, IMPLEMENTATION_SPECIFIC_ERROR),
          Map.entry(ErrorCode.STREAM_MISMATCH, IMPLEMENTATION_SPECIFIC_ERROR),
          Map.entry(ErrorCode.PARTITION_CLOSED, IMPLEMENTATION_SPECIFIC_ERROR),
          Map.entry(ErrorCode.BROKER_CLOSED, IMPLEMENTATION_SPECIFIC_ERROR));

  static byte publishReason(ErrorCode code) {
    return PUBLISH_REASONS.getOrDefault(code, UNSPECIFIED_ERROR);
  }

  /**
   * Whether {@code filter} is a legal MQTT topic filter [MQTT-4.7.1]: not empty, {@code #} only as
   * the whole last level, {@code +} only as a whole level, no NUL.
   */
  static boolean validFilter(String filter) {
    if (filter.isEmpty() || filter.indexOf('\u0000') >= 0) {
      return false;
    }
    int start = 0;
    for (int i = 0; i <= filter.length(); i++) {
      if (i == filter.length() || filter.charAt(i) == '/') {
        String level = filter.substring(start, i);
        if (level.contains("#") && (!level.equals("#") || i != filter.length())) {
          return false;
        }
        if (level.contains("+") && !level.equals("+")) {
          return false;
        }
        start = i + 1;
      }
    }
    return true;
  }

  /**
   * Whether {@code filter}, as given in a SUBSCRIBE, is well formed: a {@link #validFilter valid
   * filter}, or {@code $share/GROUP/FILTER} with a non-empty group free of {@code /}, {@code +} and
   * {@code #} and a valid filter [MQTT-4.8.2-1, 4.8.2-2].
   */
  static boolean validSubscription(String filter) {
    if (!filter.startsWith("$share/")) {
      return validFilter(filter);
    }
    int slash = filter.indexOf('/', 7);
    if (slash <= 7) {
      return false;
    }
    String group = filter.substring(7, slash);
    return group.indexOf('+') < 0
        && group.indexOf('#') < 0
        && validFilter(filter.substring(slash + 1));
  }

  /** No time to live: the message never expires. */
  static final long NO_TTL = Long.MAX_VALUE;

  /**
   * What is left of {@code m}'s time to live at {@code nowMs} ({@link Message#TTL_HEADER}, counted
   * from its timestamp; a message not stored yet has timestamp 0 and all of it left): zero or less
   * once it ran out, {@link #NO_TTL} without one or with one that does not parse (as the broker's
   * consumers treat it).
   */
  static long remainingTtlMs(Message m, long nowMs) {
    byte[] ttl = m.header(Message.TTL_HEADER);
    if (ttl == null) {
      return NO_TTL;
    }
    long ms;
    try {
      ms = Long.parseLong(new String(ttl, StandardCharsets.US_ASCII).trim());
    } catch (NumberFormatException e) {
      return NO_TTL;
    }
    return m.timestampMs() > 0 ? m.timestampMs() + ms - nowMs : ms;
  }

  /**
   * Headers that are Switchboard's own bookkeeping, never user properties: the MQTT front end's
   * {@code sb-mqtt-*} and the broker's idempotency, reply and delay headers. The time to live and
   * correlation id become their own MQTT properties.
   */
  static boolean internalHeader(String key) {
    return key.startsWith("sb-mqtt-")
        || key.equals(io.switchboard.broker.BindingSpec.ORIGINAL_SUBJECT_HEADER)
        || key.equals(io.switchboard.broker.StoredHeaders.MESSAGE_ID)
        || key.equals(io.switchboard.broker.StoredHeaders.REPLY_TO)
        || key.equals(io.switchboard.broker.StoredHeaders.DELIVER_AT)
        || key.equals(io.switchboard.broker.StoredHeaders.DELAY);
  }

  /**
   * The MQTT 5 properties of a delivered message: user properties, content type, payload format,
   * subscription identifiers, correlation data, response topic, and the Message Expiry Interval
   * with what is left of it [MQTT-3.3.2-6] (whole seconds, rounded up so a message is never said to
   * expire before it does). Headers that are {@link #internalHeader internal} are left out: the
   * client did not ask for them, and they would only make its packets larger.
   */
  static MqttProperties outboundProperties(Message m, long nowMs) {
    MqttProperties props = new MqttProperties();
    MqttProperties.UserProperties user = new MqttProperties.UserProperties();
    boolean anyUser = false;
    for (Header h : m.headers()) {
      switch (h.key()) {
        case MqttConnection.CONTENT_TYPE_HEADER ->
            props.add(
                new MqttProperties.StringProperty(
                    MqttProperties.CONTENT_TYPE, new String(h.value(), StandardCharsets.UTF_8)));
        case MqttConnection.PAYLOAD_FORMAT_HEADER ->
            props.add(
                new MqttProperties.IntegerProperty(
                    MqttProperties.PAYLOAD_FORMAT_INDICATOR, (int) h.value()[0]));
        case MqttConnection.SUBSCRIPTION_ID_HEADER -> {
          for (String id : new String(h.value(), StandardCharsets.US_ASCII).split(",")) {
            props.add(
                new MqttProperties.IntegerProperty(
                    MqttProperties.SUBSCRIPTION_IDENTIFIER, Integer.parseInt(id)));
          }
        }
        case Message.CORRELATION_ID ->
            props.add(
                new MqttProperties.BinaryProperty(MqttProperties.CORRELATION_DATA, h.value()));
        case Message.TTL_HEADER -> {
          long left = remainingTtlMs(m, nowMs);
          if (left != NO_TTL) {
            long seconds = Math.max(1, (left + 999) / 1000);
            props.add(
                new MqttProperties.IntegerProperty(
                    MqttProperties.PUBLICATION_EXPIRY_INTERVAL,
                    (int) Math.min(seconds, 0xFFFFFFFFL)));
          }
        }
        default -> {
          if (!internalHeader(h.key())) {
            user.add(h.key(), new String(h.value(), StandardCharsets.UTF_8));
            anyUser = true;
          }
        }
      }
    }
    if (anyUser) {
      props.add(user);
    }
    if (m.replyTo() != null) {
      props.add(
          new MqttProperties.StringProperty(
              MqttProperties.RESPONSE_TOPIC, MqttTopics.toTopic(m.replyTo())));
    }
    return props;
  }
}
