package io.switchboard.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for servers a test starts in another process (or stops and starts again on the
 * same port), where binding port 0 is not possible. Thread-safe.
 *
 * <p>A port is picked at random below Linux's ephemeral range (32768 and up), where the kernel
 * never hands out ports to outgoing connections, and checked to be bindable on 127.0.0.1. Between
 * the check and the child's bind another process could still take it; outside the ephemeral range
 * that needs another test picking the same port, which random picks over 12,000 ports make rare.
 */
public final class Ports {
  static final int LOW = 20_000;
  static final int HIGH = 32_000;

  private Ports() {}

  /** A port nothing listens on now, on 127.0.0.1. */
  public static int free() {
    IOException last = null;
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(LOW, HIGH);
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return port;
      } catch (IOException taken) {
        last = taken;
      }
    }
    throw new UncheckedIOException("no free loopback port in [" + LOW + ", " + HIGH + ")", last);
  }
}
