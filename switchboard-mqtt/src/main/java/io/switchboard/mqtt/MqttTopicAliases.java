package io.switchboard.mqtt;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Server-to-client topic aliases of one MQTT 5 connection [MQTT-3.3.2.3.4]: the first PUBLISH on a
 * topic carries the topic and a new alias, later ones only the alias (an empty topic name), which
 * saves the topic's bytes on every message of a busy topic. At most {@code maximum} aliases, the
 * client's Topic Alias Maximum capped by {@link #CAP}; when all are in use, the least recently used
 * topic gives its alias up to the new one (sent with its topic, which rebinds the alias).
 *
 * <p>Not thread-safe: one per connection, used on its event loop.
 */
final class MqttTopicAliases {
  /** Aliases kept per connection at most, whatever the client allows: bounds the map. */
  static final int CAP = 1024;

  /** An alias to send, and whether the topic must go with it (a new or rebound alias). */
  record Alias(int alias, boolean sendTopic) {}

  private final int maximum;
  private final LinkedHashMap<String, Integer> byTopic;
  private int next = 1;

  MqttTopicAliases(int clientMaximum) {
    this.maximum = Math.min(Math.max(0, clientMaximum), CAP);
    this.byTopic = new LinkedHashMap<>(16, 0.75f, true);
  }

  /** The alias for {@code topic}; null when aliases are off. */
  Alias aliasFor(String topic) {
    if (maximum == 0) {
      return null;
    }
    Integer known = byTopic.get(topic);
    if (known != null) {
      return new Alias(known, false);
    }
    int alias;
    if (next <= maximum) {
      alias = next++;
    } else {
      Map.Entry<String, Integer> eldest = byTopic.entrySet().iterator().next();
      alias = eldest.getValue();
      byTopic.remove(eldest.getKey());
    }
    byTopic.put(topic, alias);
    return new Alias(alias, true);
  }

  /**
   * UTF-8 bytes of the topic name the next PUBLISH on {@code topic} carries, changing nothing: none
   * when it goes as a known alias alone. For sizing a packet before deciding to send it.
   */
  int topicNameBytes(String topic) {
    return maximum > 0 && byTopic.containsKey(topic) ? 0 : MqttPacketSize.utf8(topic);
  }

  /** Bytes of the Topic Alias property each PUBLISH carries: 3 with aliases on, else none. */
  int aliasPropertyBytes() {
    return maximum == 0 ? 0 : 3;
  }

  int size() {
    return byTopic.size();
  }
}
