package io.switchboard.it;

import io.switchboard.server.FrontEnd;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.server.config.ServerConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** A server for a child JVM: {@code ServerMain DATA_DIR PORT}; prints READY once it listens. */
public final class ServerMain {
  private ServerMain() {}

  public static void main(String[] args) throws Exception {
    List<FrontEnd> frontEnds = SwitchboardServer.discoverFrontEnds();
    ServerConfig config =
        ServerConfig.resolve(
            SwitchboardServer.configKeys(frontEnds),
            Map.of(),
            Map.of(),
            SwitchboardServer.onFreePorts(
                Map.of(
                    ConfigCatalogue.DATA_DIR.name(), args[0],
                    ConfigCatalogue.NATIVE_PORT.name(), args[1])));
    SwitchboardServer server = SwitchboardServer.start(config, frontEnds);
    System.out.println("READY " + server.addresses().get("native").getPort());
    System.out.flush();
    new CountDownLatch(1).await(); // until killed
  }
}
