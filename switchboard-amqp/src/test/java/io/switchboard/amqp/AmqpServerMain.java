package io.switchboard.amqp;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.config.ServerConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A server for a child JVM that a test kills: {@code AmqpServerMain DATA_DIR AMQP_PORT}; the other
 * listeners take free ports; prints READY once it listens.
 */
public final class AmqpServerMain {
  private AmqpServerMain() {}

  public static void main(String[] args) throws Exception {
    List<FrontEnd> frontEnds = SwitchboardServer.discoverFrontEnds();
    Map<String, String> flags = new HashMap<>();
    flags.put(ConfigCatalogue.DATA_DIR.name(), args[0]);
    flags.put("amqp.port", args[1]);
    ServerConfig config =
        ServerConfig.resolve(
            SwitchboardServer.configKeys(frontEnds),
            Map.of(),
            Map.of(),
            SwitchboardServer.onFreePorts(flags));
    SwitchboardServer server = SwitchboardServer.start(config, frontEnds);
    System.out.println("READY " + server.addresses().get("amqp").getPort());
    System.out.flush();
    new CountDownLatch(1).await(); // until killed
  }
}
