package io.switchboard.mqtt;

import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.mqtt.MqttProperties;

/**
 * The exact encoded size of an outgoing PUBLISH, worked out before it is built, so a packet larger
 * than the client's Maximum Packet Size is never sent [MQTT-3.1.2-24]. Stateless.
 *
 * <pre>
 * PUBLISH: first byte | remaining length (varint, 1-4 bytes)
 *   topic name (u16 length + UTF-8) | [QoS 1/2] packet id (u16)
 *   [v5] property length (varint) + properties
 *   payload
 * </pre>
 */
final class MqttPacketSize {
  private MqttPacketSize() {}

  /**
   * @param topicBytes UTF-8 bytes of the topic name as sent (0 for an aliased repeat)
   * @param aliasBytes bytes of a Topic Alias property that will be added (0 or 3)
   * @param properties the v5 properties other than a topic alias (null for 3.1.1: none)
   */
  static long publish(
      int topicBytes,
      int aliasBytes,
      boolean withPacketId,
      MqttProperties properties,
      int payload) {
    long remaining = 2L + topicBytes + (withPacketId ? 2 : 0) + payload;
    if (properties != null) {
      long p = properties(properties) + aliasBytes;
      remaining += varIntBytes(p) + p;
    }
    return 1 + varIntBytes(remaining) + remaining;
  }

  /** Bytes the properties take on the wire, without their length prefix (MQTT 5 §2.2.2.2). */
  static long properties(MqttProperties properties) {
    long n = 0;
    for (MqttProperties.MqttProperty<?> p : properties.listAll()) {
      int id = p.propertyId();
      n += varIntBytes(id);
      switch (p) {
        case MqttProperties.UserProperties u -> {
          n -= varIntBytes(id); // each pair carries its own identifier
          for (MqttProperties.StringPair pair : u.value()) {
            n += varIntBytes(id) + 2 + utf8(pair.key) + 2 + utf8(pair.value);
          }
        }
        case MqttProperties.StringProperty s -> n += 2 + utf8(s.value());
        case MqttProperties.BinaryProperty b -> n += 2 + b.value().length;
        case MqttProperties.IntegerProperty i -> n += integerBytes(id, i.value());
        default -> throw new IllegalArgumentException("property " + id);
      }
    }
    return n;
  }

  private static int integerBytes(int id, int value) {
    return switch (id) {
      case MqttProperties.PAYLOAD_FORMAT_INDICATOR -> 1;
      case MqttProperties.TOPIC_ALIAS -> 2;
      case MqttProperties.SUBSCRIPTION_IDENTIFIER -> varIntBytes(value);
      default -> 4; // message expiry interval: the remaining PUBLISH integer property
    };
  }

  static int varIntBytes(long v) {
    return v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;
  }

  static int utf8(String s) {
    return ByteBufUtil.utf8Bytes(s);
  }
}
