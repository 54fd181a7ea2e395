package io.switchboard.services;

import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.Map;

/** A real server in this JVM on a free loopback port, for one test class. */
final class TestServer implements AutoCloseable {
  private final SwitchboardServer server;

  TestServer(Path dataDir) throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(), dataDir.toString(), NativeKeys.PORT.name(), "0"));
  }

  String address() {
    return "127.0.0.1:" + server.addresses().get("native").getPort();
  }

  @Override
  public void close() {
    server.close();
  }
}
