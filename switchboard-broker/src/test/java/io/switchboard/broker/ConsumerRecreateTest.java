package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer deleted and made again at once under the same name (what the Kafka front end does to
 * reset a share group's offsets) is a new consumer, files and all: the old one's file deletion and
 * last state writes, queued on the state writer, never land on it — it works now and after a
 * restart.
 */
class ConsumerRecreateTest {
  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 2, 4096, 60_000), Clock.SYSTEM);
  }

  static Message m(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  @Test
  void aConsumerDeletedAndMadeAgainAtOnceKeepsItsNewFiles() {
    try (Broker b = open()) {
      b.createStream(StreamConfig.builder("RE", "re.>").build());
      for (int i = 0; i < 5; i++) {
        b.publish(m("re.k", "x" + i), PublishOptions.NONE).join();
      }
      for (int round = 0; round < 20; round++) {
        b.createConsumer("RE", ConsumerConfig.builder("again").build());
        List<Delivery> got = b.fetch("RE", "again", "m", 2, 0).join();
        assertThat(got).hasSize(2);
        for (Delivery d : got) {
          b.ack("RE", "again", d.partition(), d.offset()).join();
        }
        b.deleteConsumer("RE", "again");
      }
      b.createConsumer("RE", ConsumerConfig.builder("again").startOffset(3).build());
      assertThat(b.consumerInfo("RE", "again").pending()).isEqualTo(2);
    }
    // Its files survived every deletion queued before it: it opens again, from offset 3.
    try (Broker b = open()) {
      assertThat(b.consumerInfo("RE", "again").config().startOffset()).isEqualTo(3);
      List<Delivery> got = b.fetch("RE", "again", "m", 10, 0).join();
      assertThat(got).extracting(Delivery::offset).containsExactly(3L, 4L);
    }
  }
}
