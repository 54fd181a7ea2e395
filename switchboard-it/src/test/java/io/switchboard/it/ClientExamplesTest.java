package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The examples of docs/client.md, compiled and run against a server. Each {@code tag::} region is
 * quoted verbatim in the guide; {@link ClientGuideTest} checks that they stay the same.
 */
class ClientExamplesTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String address;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), NativeKeys.PORT.name(), "0"));
    address = "127.0.0.1:" + server.addresses().get("native").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void publishAndSubscribe() throws Exception {
    BlockingQueue<String> seen = new ArrayBlockingQueue<>(10);
    // tag::pubsub[]
    try (SwitchboardClient client = SwitchboardClient.connect(address)) {
      client.subscribe(
          "greetings.>",
          m -> seen.add(m.subject() + ": " + new String(m.payload(), StandardCharsets.UTF_8)));
      client.publish("greetings.en", "hello".getBytes(StandardCharsets.UTF_8));
      // end::pubsub[]
      assertThat(seen.poll(10, TimeUnit.SECONDS)).isEqualTo("greetings.en: hello");
    }
  }

  @Test
  void requestReply() {
    // tag::request[]
    try (SwitchboardClient service = SwitchboardClient.connect(address);
        SwitchboardClient caller = SwitchboardClient.connect(address)) {
      service.subscribe(
          "time.now", request -> service.reply(request, "12:00".getBytes(StandardCharsets.UTF_8)));
      Reply reply = caller.request("time.now", new byte[0], Duration.ofSeconds(2)).join();
      String answer = new String(reply.payload(), StandardCharsets.UTF_8); // "12:00"
      // end::request[]
      assertThat(answer).isEqualTo("12:00");
    }
  }

  @Test
  void workQueue() {
    try (SwitchboardClient client = SwitchboardClient.connect(address)) {
      // tag::queue[]
      client.admin(
          Admin.Op.STREAM_CREATE,
          """
          {"name": "JOBS", "subjects": ["jobs.>"], "retention": "work_queue"}""");
      client.admin(
          Admin.Op.CONSUMER_CREATE,
          """
          {"stream": "JOBS", "config": {"name": "workers", "mode": "shared", "maxDeliver": 5}}""");

      PubAck ack = client.publish("jobs.resize", "photo-1.jpg".getBytes(StandardCharsets.UTF_8));
      // ack.stream() is "JOBS", ack.offset() is 0

      List<DeliveryEntry> batch = client.fetch("JOBS", "workers", "worker-1", 10, 1000);
      for (DeliveryEntry job : batch) {
        boolean ok = resize(new String(job.payload(), StandardCharsets.UTF_8));
        if (ok) {
          client.ack("JOBS", "workers", job);
        } else {
          client.nack("JOBS", "workers", job, 5_000, "resize failed"); // retry in 5 s
        }
      }
      // end::queue[]
      assertThat(ack.offset()).isZero();
      assertThat(batch).hasSize(1);
    }
  }

  static boolean resize(String file) {
    return file.endsWith(".jpg");
  }

  @Test
  void eventStore() {
    try (SwitchboardClient client = SwitchboardClient.connect(address)) {
      client.admin(Admin.Op.STREAM_CREATE, "{\"name\": \"ORDERS\", \"subjects\": [\"order.>\"]}");
      // tag::events[]
      // Append only if the aggregate is where we think it is (-1: it has no event yet).
      PubAck created =
          client.publish(PublishBuilder.to("order.42", "created").expectLastOffset(-1));
      client.publish(PublishBuilder.to("order.42", "paid").expectLastOffset(created.offset()));
      try {
        client.publish(
            PublishBuilder.to("order.42", "cancelled").expectLastOffset(created.offset()));
      } catch (SwitchboardClientException e) {
        // e.errorCode() is PUBLISH_CONFLICT: someone appended first; reload and decide again
      }
      var history = client.readSubject("ORDERS", "order.42", 0, 100).messages(); // created, paid
      // end::events[]
      assertThat(history).hasSize(2);
      assertThatThrownBy(
              () ->
                  client.publish(
                      PublishBuilder.to("order.42", "x").expectLastOffset(created.offset())))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PUBLISH_CONFLICT));
    }
  }

  @Test
  void options() {
    // tag::options[]
    ClientOptions options =
        ClientOptions.of("127.0.0.1", 7400)
            .withClientName("billing-service")
            .withRequestTimeoutMs(10_000)
            .withReconnect(true) // the default: re-dial with back-off, restore subscriptions
            .withIdempotence(true); // the default: retried publishes are stored once
    // end::options[]
    assertThat(options.clientName()).isEqualTo("billing-service");
    assertThat(options.reconnect()).isTrue();
  }
}
