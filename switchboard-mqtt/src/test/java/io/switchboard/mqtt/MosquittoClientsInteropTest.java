package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Interop with Eclipse Mosquitto's command-line clients ({@code mosquitto_pub}, {@code
 * mosquitto_sub}, Debian package {@code mosquitto-clients}, installed by {@code bin/test-deps}).
 * Processes are stopped by PID.
 */
class MosquittoClientsInteropTest {
  @TempDir Path dir;
  SwitchboardServer server;
  int port;
  final List<Process> processes = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    port = server.addresses().get("mqtt").getPort();
  }

  @AfterEach
  void stop() {
    processes.forEach(Process::destroyForcibly);
    server.close();
  }

  /** A running command whose output lines are collected as they come, by {@code reader}. */
  record Run(Process process, List<String> lines, Thread reader) {}

  Run run(String... command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    processes.add(p);
    List<String> lines = new CopyOnWriteArrayList<>();
    BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    Thread reader =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    for (String l; (l = r.readLine()) != null; ) {
                      lines.add(l);
                    }
                  } catch (IOException e) {
                    // process gone
                  }
                });
    return new Run(p, lines, reader);
  }

  void finishes(Run r) throws InterruptedException {
    assertThat(r.process().waitFor(30, TimeUnit.SECONDS)).as(String.join("\n", r.lines())).isTrue();
    // The process has exited, but its last lines may still be on their way through the pipe.
    assertThat(r.reader().join(Duration.ofSeconds(30))).as("output read to its end").isTrue();
    assertThat(r.process().exitValue()).as(String.join("\n", r.lines())).isZero();
  }

  /**
   * Starts mosquitto_sub and waits until its subscription exists on the server (its own output is
   * block-buffered into the pipe, so it cannot tell us itself).
   */
  Run subscriber(String version, String topic, int count) throws Exception {
    int before = server.broker().live().subscriptionCount();
    Run sub =
        run(
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            "" + port,
            "-V",
            version,
            "-t",
            topic,
            "-q",
            "2",
            "-C",
            "" + count,
            "-v",
            "-W",
            "30");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> server.broker().live().subscriptionCount() > before);
    return sub;
  }

  void publish(String version, String topic, String payload, int qos, String... extra)
      throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-p",
                "" + port,
                "-V",
                version,
                "-t",
                topic,
                "-m",
                payload,
                "-q",
                "" + qos));
    cmd.addAll(List.of(extra));
    finishes(run(cmd.toArray(String[]::new)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"mqttv311", "mqttv5"})
  void mosquittoPublishersReachMosquittoSubscribersAtEveryQos(String version) throws Exception {
    Run sub = subscriber(version, "interop/#", 3);
    for (int qos = 0; qos <= 2; qos++) {
      publish(version, "interop/q" + qos, "hello " + qos, qos);
    }
    finishes(sub);
    assertThat(sub.lines().stream().filter(l -> l.startsWith("interop/")))
        .containsExactly("interop/q0 hello 0", "interop/q1 hello 1", "interop/q2 hello 2");
  }

  @Test
  void aRetainedMessageFromMosquittoPubReachesALaterSubscriber() throws Exception {
    publish("mqttv311", "interop/state", "ready", 1, "-r");
    Run sub =
        run(
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            "" + port,
            "-t",
            "interop/state",
            "-C",
            "1",
            "-v",
            "-W",
            "30");
    finishes(sub);
    assertThat(sub.lines()).contains("interop/state ready");
  }

  @Test
  void aV5UserPropertyFromMosquittoPubBecomesANativeHeader() throws Exception {
    ConcurrentLinkedQueue<LiveMessage> got = new ConcurrentLinkedQueue<>();
    try (SwitchboardClient nat =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
      nat.subscribe("interop.>", got::add);
      publish("mqttv5", "interop/props", "x", 1, "-D", "publish", "user-property", "team", "blue");
      await().atMost(Duration.ofSeconds(10)).until(() -> !got.isEmpty());
      assertThat(got.peek().headers())
          .anySatisfy(
              h ->
                  assertThat(h.key() + "=" + new String(h.value(), StandardCharsets.UTF_8))
                      .isEqualTo("team=blue"));
    }
  }
}
