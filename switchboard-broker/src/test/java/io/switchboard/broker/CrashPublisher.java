package io.switchboard.broker;

import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Child process of {@link BrokerCrashTest}: publishes {@code m-<n>} messages with message ids
 * through a broker with {@code fsync=always}, four in flight at a time, and prints {@code ACK <n>
 * <partition> <offset>} for each acknowledgement. Runs until killed.
 */
public final class CrashPublisher {
  private CrashPublisher() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    long first = Long.parseLong(args[1]);
    Broker broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    if (broker.listStreams().isEmpty()) {
      broker.createStream(
          StreamConfig.builder("CRASH", "crash.>").partitions(3).fsync(FsyncPolicy.ALWAYS).build());
    }
    System.out.println("READY");
    System.out.flush();
    for (long n = first; ; n += 4) {
      List<CompletableFuture<PublishAck>> window = new ArrayList<>(4);
      for (int i = 0; i < 4; i++) {
        long id = n + i;
        window.add(
            broker.publish(
                Message.of("crash.k" + (id % 7), ("m-" + id).getBytes(StandardCharsets.UTF_8), 0),
                PublishOptions.messageId("m-" + id)));
      }
      for (int i = 0; i < 4; i++) {
        PublishAck ack = window.get(i).join();
        System.out.println("ACK " + (n + i) + " " + ack.partition() + " " + ack.offset());
      }
      System.out.flush();
    }
  }
}
