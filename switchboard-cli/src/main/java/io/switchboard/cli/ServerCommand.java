package io.switchboard.cli;

import io.switchboard.core.SwitchboardException;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.security.SecurityKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.config.ServerConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code switchboard server}: checks the whole configuration (file, {@code SWITCHBOARD_*}
 * environment, flags), opens embedded storage (recovering whatever the data directory holds),
 * starts every front end, and runs until SIGTERM or SIGINT, when it stops accepting, finishes
 * queued appends and closes every file cleanly. Confined to the main thread.
 */
@Command(name = "server", description = "Start the broker with embedded storage.")
final class ServerCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServerCommand.class);

  @Option(names = "--config", description = "YAML configuration file.")
  Path config;

  @Option(names = "--data", description = "Directory for embedded storage (default: data).")
  String data;

  @Option(names = "--bind", description = "Address to listen on (default: 127.0.0.1).")
  String bind;

  @Option(names = "--port", description = "Native protocol port (default: 7400; 0 = any free).")
  String port;

  @Option(
      names = "--insecure",
      description =
          "Allow a non-loopback --bind without auth.required=true (trusted networks only).")
  boolean insecure;

  @Option(
      names = "--set",
      description = "Any configuration key, as KEY=VALUE (see docs/configuration.md).")
  Map<String, String> settings = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    List<FrontEnd> frontEnds = SwitchboardServer.discoverFrontEnds();
    Map<String, String> flags = new LinkedHashMap<>(settings);
    if (data != null) {
      flags.put(ConfigCatalogue.DATA_DIR.name(), data);
    }
    if (bind != null) {
      flags.put(ConfigCatalogue.BIND.name(), bind);
    }
    if (port != null) {
      flags.put(NativeKeys.PORT.name(), port);
    }
    if (insecure) {
      flags.put(SecurityKeys.INSECURE.name(), "true");
    }
    ServerConfig resolved;
    try {
      resolved =
          ServerConfig.load(
              SwitchboardServer.configKeys(frontEnds), config, System.getenv(), flags);
    } catch (SwitchboardException e) {
      System.err.println("switchboard: " + e.getMessage());
      return 2;
    }
    LogFormat.apply(resolved.get(ConfigCatalogue.LOG_FORMAT));
    SwitchboardServer server;
    try {
      server = SwitchboardServer.start(resolved, frontEnds);
    } catch (SwitchboardException e) {
      System.err.println("switchboard: " + e.getMessage());
      return 2;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  LOG.info(
                      "shutting down: closing connections, finishing appends, closing storage");
                  server.close();
                  stopped.countDown();
                },
                "sb-shutdown"));
    stopped.await();
    return 0;
  }
}
