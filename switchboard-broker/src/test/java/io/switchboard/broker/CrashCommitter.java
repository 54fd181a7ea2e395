package io.switchboard.broker;

import io.switchboard.broker.group.Groups;
import io.switchboard.broker.group.OffsetCommit;
import io.switchboard.broker.group.StreamPartition;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Child process of {@link GroupCrashTest}: starts a new generation of group {@code g} (printing
 * {@code GEN <n>} once it is acknowledged), then commits ever larger offsets {@code first, first+1,
 * ...} for partitions 0 and 1 of stream {@code C}, two commits in flight, printing {@code ACK <n>}
 * for each acknowledgement. Runs until killed.
 */
public final class CrashCommitter {
  private CrashCommitter() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    long first = Long.parseLong(args[1]);
    Broker broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    if (broker.listStreams().isEmpty()) {
      broker.createStream(StreamConfig.builder("C", "c.>").partitions(2).build());
    }
    Groups groups = broker.groups();
    int generation = groups.newGeneration("g", List.of("member")).join();
    System.out.println("GEN " + generation);
    System.out.flush();
    for (long n = first; ; n += 2) {
      CompletableFuture<Void> a = commit(groups, generation, n);
      CompletableFuture<Void> b = commit(groups, generation, n + 1);
      a.join();
      System.out.println("ACK " + n);
      b.join();
      System.out.println("ACK " + (n + 1));
      System.out.flush();
    }
  }

  private static CompletableFuture<Void> commit(Groups groups, int generation, long n) {
    return groups.commit(
        "g",
        generation,
        "member",
        Map.of(
            new StreamPartition("C", 0),
            OffsetCommit.of(n),
            new StreamPartition("C", 1),
            new OffsetCommit(n, "n=" + n)));
  }
}
