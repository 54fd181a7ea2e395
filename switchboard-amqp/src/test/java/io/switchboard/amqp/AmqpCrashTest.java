package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import io.switchboard.testkit.ChildJvm;
import io.switchboard.testkit.Ports;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server killed with SIGKILL while RabbitMQ's Java client publishes persistent messages with
 * confirms to a durable queue: after a restart every confirmed message is in the queue, and the
 * client's automatic recovery reconnects and carries on.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class AmqpCrashTest {
  @TempDir Path dir;
  Process server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.destroyForcibly(); // by PID
    }
  }

  Process start(int port) throws IOException {
    Process p = ChildJvm.start(AmqpServerMain.class, dir.resolve("data").toString(), "" + port);
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("READY")) {
      // noise before READY
    }
    assertThat(line).as("server start").isNotNull();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (out.readLine() != null) {
                  // drain
                }
              } catch (IOException e) {
                // gone
              }
            });
    return p;
  }

  @Test
  void everyConfirmedMessageSurvivesKillNineAndTheClientRecovers() throws Exception {
    int port = Ports.free();
    server = start(port);
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(port);
    f.setAutomaticRecoveryEnabled(true);
    f.setNetworkRecoveryInterval(200);
    Connection connection = f.newConnection("amqp-crash-test");
    Channel ch = connection.createChannel();
    ch.queueDeclare("durable-jobs", true, false, false, null);
    ch.confirmSelect();

    NavigableMap<Long, String> outstanding = new ConcurrentSkipListMap<>();
    Set<String> confirmed = ConcurrentHashMap.newKeySet();
    Semaphore window = new Semaphore(1000);
    ch.addConfirmListener(
        new ConfirmListener() {
          @Override
          public void handleAck(long seq, boolean multiple) {
            settle(seq, multiple, true);
          }

          @Override
          public void handleNack(long seq, boolean multiple) {
            settle(seq, multiple, false);
          }

          void settle(long seq, boolean multiple, boolean ok) {
            Map<Long, String> done = multiple ? outstanding.headMap(seq, true) : Map.of();
            Set<Long> tags = new HashSet<>(done.keySet());
            if (!multiple) {
              tags.add(seq);
            }
            for (Long tag : tags) {
              String body = outstanding.remove(tag);
              if (body != null) {
                if (ok) {
                  confirmed.add(body);
                }
                window.release();
              }
            }
          }
        });
    AtomicBoolean stop = new AtomicBoolean();
    Thread publisher =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    for (int i = 0; !stop.get(); i++) {
                      while (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                        if (stop.get()) {
                          return;
                        }
                      }
                      String body = "m" + i;
                      outstanding.put(ch.getNextPublishSeqNo(), body);
                      ch.basicPublish(
                          "", "durable-jobs", MessageProperties.PERSISTENT_BASIC, body.getBytes());
                    }
                  } catch (Exception e) {
                    // the server was killed under it
                  }
                });
    await().atMost(Duration.ofSeconds(60)).until(() -> confirmed.size() >= 2000);

    server.destroyForcibly(); // SIGKILL to this PID, publishes in flight
    assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    stop.set(true);
    publisher.join(10_000);
    Set<String> acknowledged = Set.copyOf(confirmed);
    server = start(port);

    // The client's automatic recovery reconnects to the restarted server and its channel works.
    await()
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .until(
            () -> {
              Channel probe = connection.createChannel();
              probe.confirmSelect();
              probe.basicPublish(
                  "", "durable-jobs", MessageProperties.PERSISTENT_BASIC, "after".getBytes());
              probe.waitForConfirmsOrDie(5_000);
              probe.close();
              return true;
            });

    Set<String> stored = new HashSet<>();
    try (Connection check = new ConnectionFactory().newConnection(addressOf(port))) {
      Channel c = check.createChannel();
      GetResponse r;
      while ((r = c.basicGet("durable-jobs", true)) != null) {
        stored.add(new String(r.getBody(), StandardCharsets.UTF_8));
      }
    }
    assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(2000);
    Set<String> lost = new HashSet<>(acknowledged);
    lost.removeAll(stored);
    assertThat(lost).as("confirmed and lost").isEmpty();
    assertThat(stored).contains("after");
    connection.abort();
  }

  static com.rabbitmq.client.Address[] addressOf(int port) {
    return new com.rabbitmq.client.Address[] {new com.rabbitmq.client.Address("127.0.0.1", port)};
  }
}
