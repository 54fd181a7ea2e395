package io.switchboard.broker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A producer's batch reaches the partition's agent as one command. */
class PartitionAgentBatchTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();

  @Test
  void aBatchIsOneCommandAndOneAppend() {
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    try (PartitionAgent agent =
        new PartitionAgent("S", 0, log, StreamConfig.builder("S", "s.>").build(), clock, 16)) {
      List<Message> ms = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        ms.add(Message.of("s.x", ("m" + i).getBytes(StandardCharsets.UTF_8), 0));
      }
      CompletableFuture<PublishAck> ack =
          agent.publishBatch(ms, new ProducerSequence(1, (short) 0, 0));
      assertThat(agent.queued()).isEqualTo(1);
      assertThat(agent.doWork()).isEqualTo(1);
      assertThat(ack.join().offset()).isZero();
      assertThat(log.read(0, 1 << 20).batches()).hasSize(1);
      assertThat(log.logEndOffset()).isEqualTo(500);
      assertThat(agent.lastOffset("s.x")).isEqualTo(499);
    }
  }
}
