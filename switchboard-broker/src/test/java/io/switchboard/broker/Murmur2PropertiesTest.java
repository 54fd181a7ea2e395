package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.kafka.common.utils.Utils;

/** Keys land where Kafka's default partitioner puts them: checked against kafka-clients itself. */
class Murmur2PropertiesTest {

  @Property(tries = 2000)
  void hashAndPartitionAgreeWithKafkaClients(
      @ForAll @Size(max = 64) byte[] key, @ForAll @IntRange(min = 1, max = 1024) int partitions) {
    assertThat(Murmur2.hash(key)).isEqualTo(Utils.murmur2(key));
    assertThat(Murmur2.partition(key, partitions))
        .isEqualTo(Utils.toPositive(Utils.murmur2(key)) % partitions);
  }
}
