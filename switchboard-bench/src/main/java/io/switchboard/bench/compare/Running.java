package io.switchboard.bench.compare;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A broker the suite started: its processes (the broker last in, first out), ports and log. Stopped
 * by PID only: SIGTERM to each process and its descendants, SIGKILL after a grace period.
 */
final class Running implements AutoCloseable {
  static final Duration GRACE = Duration.ofSeconds(20);

  final Map<String, Integer> ports;
  final Path log;
  private final List<Process> processes;

  Running(List<Process> processes, Map<String, Integer> ports, Path log) {
    this.processes = new ArrayList<>(processes);
    this.ports = ports;
    this.log = log;
  }

  int port(String name) {
    Integer p = ports.get(name);
    if (p == null) {
      throw new IllegalArgumentException("no port named " + name + " in " + ports);
    }
    return p;
  }

  /** The broker's own process (the last started). */
  Process main() {
    return processes.get(processes.size() - 1);
  }

  @Override
  public void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      stop(processes.get(i).toHandle());
    }
  }

  static void stop(ProcessHandle p) {
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    tree.add(p);
    tree.forEach(ProcessHandle::destroy);
    for (ProcessHandle h : tree) {
      try {
        h.onExit().get(GRACE.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        h.destroyForcibly();
      }
    }
  }

  /** A port free on 127.0.0.1 now. */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * Waits until every port of this broker accepts connections on 127.0.0.1, all within {@code
   * timeout}; when one does not (or the broker dies), stops every process and rethrows.
   */
  Running awaitListening(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      for (int port : ports.values()) {
        awaitPort(main(), port, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), log);
      }
      return this;
    } catch (Exception e) {
      close();
      throw e;
    }
  }

  /** Waits until {@code port} on 127.0.0.1 accepts connections, or fails when {@code p} dies. */
  static void awaitPort(Process p, int port, Duration timeout, Path log) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException(
            "exited with " + p.exitValue() + " before listening on " + port + "; see " + log);
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        Thread.sleep(100); // polling a port that is not open yet
      }
    }
    throw new IllegalStateException(
        "not listening on " + port + " after " + timeout + "; see " + log);
  }
}
