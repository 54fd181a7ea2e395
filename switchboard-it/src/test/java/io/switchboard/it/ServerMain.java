package io.switchboard.it;

import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.config.ServerConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A server for a child JVM: {@code ServerMain DATA_DIR PORT [KEY=VALUE...]}; other listeners take
 * free ports unless set; prints READY once it listens.
 */
public final class ServerMain {
  private ServerMain() {}

  public static void main(String[] args) throws Exception {
    List<FrontEnd> frontEnds = SwitchboardServer.discoverFrontEnds();
    Map<String, String> flags = new java.util.HashMap<>();
    flags.put(ConfigCatalogue.DATA_DIR.name(), args[0]);
    flags.put(NativeKeys.PORT.name(), args[1]);
    for (int i = 2; i < args.length; i++) {
      flags.put(
          args[i].substring(0, args[i].indexOf('=')), args[i].substring(args[i].indexOf('=') + 1));
    }
    ServerConfig config =
        ServerConfig.resolve(
            SwitchboardServer.configKeys(frontEnds),
            Map.of(),
            Map.of(),
            SwitchboardServer.onFreePorts(flags));
    SwitchboardServer server = SwitchboardServer.start(config, frontEnds);
    System.out.println("READY " + server.addresses().get("native").getPort());
    System.out.flush();
    new CountDownLatch(1).await(); // until killed
  }
}
