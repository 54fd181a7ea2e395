package io.switchboard.kafka;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.kafka.common.Uuid;

/**
 * How Kafka topics name streams (docs/kafka.md "Topics and streams"). Every stream name ({@code A-Z
 * a-z 0-9 _ -}, 1–64) is a legal Kafka topic name and is used as it is; a topic name that is not a
 * legal stream name (one with {@code .}, or longer than 64) is refused with INVALID_TOPIC_EXCEPTION
 * rather than silently renamed. A topic's id is derived from its name, so it is the same across
 * restarts; a stream deleted and made again keeps its id. Stateless.
 */
final class KafkaTopics {
  private KafkaTopics() {}

  private static final Pattern STREAM_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** Whether {@code topic} names a stream. */
  static boolean isStreamName(String topic) {
    return topic != null && STREAM_NAME.matcher(topic).matches();
  }

  /** Why {@code topic} cannot name a stream, for the error message. */
  static String whyNot(String topic) {
    return "topic name \""
        + topic
        + "\" is not a stream name: 1-64 of A-Z a-z 0-9 _ - (a '.' is not allowed)";
  }

  /** The id Metadata gives the stream's topic. */
  static Uuid topicId(String stream) {
    UUID u =
        UUID.nameUUIDFromBytes(("switchboard-stream:" + stream).getBytes(StandardCharsets.UTF_8));
    return new Uuid(u.getMostSignificantBits(), u.getLeastSignificantBits());
  }

  /** The subjects a stream made for a Kafka topic captures: the topic's name and below it. */
  static java.util.List<String> subjectsOf(String topic) {
    return java.util.List.of(topic, topic + ".>");
  }
}
