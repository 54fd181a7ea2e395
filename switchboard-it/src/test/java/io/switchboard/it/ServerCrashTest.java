package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server is killed with SIGKILL (by PID) while a client publishes and a durable consumer works,
 * then restarted on the same port and data: the client reconnects by itself, every acknowledged
 * publish is stored exactly once (retries are de-duplicated by the client's message ids), and the
 * consumer carries on until it has seen every message.
 */
class ServerCrashTest {
  static final int MESSAGES = 3000;
  static final int KILLS = 2;

  /** How far past a kill's threshold the producer may run before that kill has happened. */
  static final int GATE_SLACK = 400;

  @TempDir Path dir;
  Process server;

  @AfterEach
  void stopServer() {
    if (server != null) {
      server.destroyForcibly();
    }
  }

  static int freePort() {
    return io.switchboard.testkit.Ports.free();
  }

  Process startServer(int port) throws IOException {
    Process p =
        ChildJvm.start(ServerMain.class, dir.resolve("data").toString(), Integer.toString(port));
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("READY")) {
      // anything before READY is noise
    }
    assertThat(line).as("server start").isNotNull();
    // Keep draining stdout so the child never blocks on a full pipe.
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (out.readLine() != null) {
                  // discard
                }
              } catch (IOException e) {
                // the child is gone
              }
            });
    return p;
  }

  void kill(Process p) throws InterruptedException {
    p.destroyForcibly(); // SIGKILL to this PID
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void acknowledgedPublishesSurviveKillsAndTheConsumerCarriesOn() throws Exception {
    int port = freePort();
    server = startServer(port);
    ClientOptions options = ClientOptions.of("127.0.0.1", port).withRequestTimeoutMs(60_000);
    try (SwitchboardClient client = SwitchboardClient.connect(options)) {
      client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"ORD\",\"subjects\":[\"ord.>\"]}");
      client.admin(
          Admin.Op.CONSUMER_CREATE,
          "{\"stream\":\"ORD\",\"config\":{\"name\":\"billing\",\"ackTimeoutMs\":2000}}");

      Set<String> acked = ConcurrentHashMap.newKeySet();
      Set<String> consumed = ConcurrentHashMap.newKeySet();
      AtomicInteger published = new AtomicInteger();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger kills = new AtomicInteger();
      List<Throwable> failures = new ArrayList<>();

      Thread producer =
          new Thread(
              () -> {
                List<CompletableFuture<PubAck>> window = new ArrayList<>();
                for (int i = 0; i < MESSAGES; i++) {
                  // Never run far past the next kill's threshold before that kill: every kill
                  // then lands while publishes are still to come (a fast machine would otherwise
                  // finish them all before the first kill).
                  int next = kills.get() + 1;
                  if (next <= KILLS && i >= next * MESSAGES / (KILLS + 1) + GATE_SLACK) {
                    await().atMost(Duration.ofSeconds(120)).until(() -> kills.get() >= next);
                  }
                  String body = "m" + i;
                  window.add(
                      client
                          .publishAsync(PublishBuilder.to("ord.k" + (i % 10), body))
                          .whenComplete(
                              (a, e) -> {
                                if (e == null) {
                                  acked.add(body);
                                } else {
                                  synchronized (failures) {
                                    failures.add(e);
                                  }
                                }
                              }));
                  published.incrementAndGet();
                  if (window.size() == 100) {
                    CompletableFuture.allOf(window.toArray(CompletableFuture[]::new))
                        .exceptionally(e -> null)
                        .join();
                    window.clear();
                  }
                }
                CompletableFuture.allOf(window.toArray(CompletableFuture[]::new))
                    .exceptionally(e -> null)
                    .join();
              },
              "producer");

      Thread consumer =
          new Thread(
              () -> {
                while (!stop.get()) {
                  try {
                    for (DeliveryEntry d : client.fetch("ORD", "billing", "w1", 100, 200)) {
                      consumed.add(new String(d.payload(), StandardCharsets.UTF_8));
                      client.ack("ORD", "billing", d);
                    }
                  } catch (SwitchboardClientException e) {
                    // The server is down: wait for the client to reconnect, then go on.
                    await()
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> stop.get() || client.isConnected());
                  }
                }
              },
              "consumer");
      producer.start();
      consumer.start();

      for (int k = 1; k <= KILLS; k++) {
        int threshold = k * MESSAGES / (KILLS + 1);
        long reconnected = k - 1;
        // Each kill hits a live connection: the client is back from the previous kill (else two
        // kills could fall into one reconnect) and has had publishes acknowledged past the mark.
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(5))
            .until(() -> client.reconnects() >= reconnected && acked.size() >= threshold);
        kill(server);
        kills.incrementAndGet();
        server = startServer(port);
      }
      producer.join(TimeUnit.SECONDS.toMillis(120));
      assertThat(producer.isAlive()).isFalse();
      assertThat(failures).as("every publish was acknowledged in the end").isEmpty();
      assertThat(acked).hasSize(MESSAGES);

      await().atMost(Duration.ofSeconds(60)).until(() -> consumed.containsAll(acked));
      stop.set(true);
      consumer.join(TimeUnit.SECONDS.toMillis(30));

      // The client reconnects in the background after each kill; when everything was acknowledged
      // and consumed soon after the last kill, that reconnect may still be under way here.
      await().atMost(Duration.ofSeconds(60)).until(() -> client.reconnects() >= KILLS);
      // Exactly once in the stream: retried publishes were not stored again.
      String info = client.admin(Admin.Op.STREAM_INFO, "{\"name\":\"ORD\"}");
      assertThat(info)
          .contains("\"nextOffset\":" + MESSAGES + ",")
          .contains("\"messages\":" + MESSAGES + "}");
    }
  }
}
