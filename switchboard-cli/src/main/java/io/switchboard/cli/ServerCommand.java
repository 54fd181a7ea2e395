package io.switchboard.cli;

import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.Clock;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code switchboard server}: starts the broker engine with embedded storage, recovering whatever
 * the data directory holds, and runs until SIGTERM or SIGINT, when it finishes queued publishes and
 * closes every log cleanly. Network listeners arrive with issue #4. Confined to the main thread.
 */
@Command(name = "server", description = "Start the broker with embedded storage.")
final class ServerCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServerCommand.class);

  @Option(
      names = "--data",
      defaultValue = "data",
      description = "Directory for embedded storage (default: ${DEFAULT-VALUE}).")
  Path data;

  @Override
  public Integer call() throws Exception {
    Path dir = data.toAbsolutePath();
    Broker broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  LOG.info("shutting down: finishing queued publishes and closing storage");
                  broker.close();
                  stopped.countDown();
                },
                "sb-shutdown"));
    LOG.info("Switchboard started; embedded storage in {}", dir);
    for (StreamInfo s : broker.listStreams()) {
      LOG.info(
          "stream {} ({}): {} partitions, {} messages",
          s.config().name(),
          String.join(" ", s.config().subjects()),
          s.partitions().size(),
          s.messages());
    }
    LOG.info("network listeners arrive with issue #4; press Ctrl-C to stop");
    stopped.await();
    return 0;
  }
}
