package io.switchboard.broker;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Child process of {@link ConsumerCrashTest}: publishes {@code m-<n>} to a work-queue stream (fsync
 * always, message ids) and works the queue through a durable consumer, printing {@code PUB <n>}
 * after each acknowledged publish and {@code ACK <body>} after each acknowledged delivery. Runs
 * until killed.
 */
public final class CrashWorker {
  private CrashWorker() {}

  public static void main(String[] args) {
    Broker broker = Broker.open(BrokerConfig.defaults(Path.of(args[0])), Clock.SYSTEM);
    long n = Long.parseLong(args[1]);
    if (broker.listStreams().isEmpty()) {
      broker.createStream(
          StreamConfig.builder("WQ", "wq.>")
              .partitions(2)
              .retention(Retention.WORK_QUEUE)
              .fsync(FsyncPolicy.ALWAYS)
              .build());
      broker.createConsumer("WQ", ConsumerConfig.builder("w").ackTimeoutMs(2000).build());
    }
    System.out.println("READY");
    System.out.flush();
    while (true) {
      String body = "m-" + n;
      broker
          .publish(
              Message.of("wq.k" + (n % 5), body.getBytes(StandardCharsets.UTF_8), 0),
              PublishOptions.messageId(body))
          .join();
      System.out.println("PUB " + n);
      n++;
      for (Delivery d : broker.fetch("WQ", "w", "child", 3, 0).join()) {
        broker.ack("WQ", "w", d.partition(), d.offset()).join();
        System.out.println("ACK " + new String(d.message().payload(), StandardCharsets.UTF_8));
      }
      System.out.flush();
    }
  }
}
