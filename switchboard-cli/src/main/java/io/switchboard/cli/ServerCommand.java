package io.switchboard.cli;

import io.switchboard.core.Header;
import io.switchboard.log.AppendResult;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code switchboard server}: starts the broker with embedded storage. Until the network front ends
 * land (issue #4) it opens the storage, recovers it, records the start in a system log and runs
 * until SIGTERM or SIGINT, then closes the storage cleanly. Confined to the main thread.
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
    Path systemLog = data.toAbsolutePath().resolve("_system").resolve("server-events-0");
    PartitionLog log = PartitionLog.open(systemLog, LogConfig.defaults(FsyncPolicy.ALWAYS));
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              LOG.info("shutting down: flushing and closing storage");
              log.close();
              stopped.countDown();
            },
            "sb-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    byte[] event = ("server started pid=" + ProcessHandle.current().pid()).getBytes(UTF8);
    AppendResult r =
        log.append(
                new RecordBatchBuilder(Compression.NONE)
                    .appendBytes(
                        System.currentTimeMillis(),
                        null,
                        event,
                        List.of(
                            new Header(
                                RecordBatchDescriptor.SUBJECT_HEADER,
                                "$sys.server.started".getBytes(UTF8))))
                    .build())
            .get();
    LOG.info(
        "Switchboard started; embedded storage in {} ({} server events, this start at offset {})",
        data.toAbsolutePath(),
        log.logEndOffset() - log.logStartOffset(),
        r.baseOffset());
    LOG.info("network listeners arrive with issue #4; press Ctrl-C to stop");
    stopped.await();
    return 0;
  }

  private static final java.nio.charset.Charset UTF8 = StandardCharsets.UTF_8;
}
