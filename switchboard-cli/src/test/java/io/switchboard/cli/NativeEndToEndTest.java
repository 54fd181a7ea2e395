package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server on a random port, driven through the Java client over the native protocol. */
class NativeEndToEndTest {
  @TempDir Path dir;
  SwitchboardServer server;
  SwitchboardClient client;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(), dir.toString(),
                NativeKeys.PORT.name(), "0",
                NativeKeys.HANDSHAKE_TIMEOUT_MS.name(), "500"));
    client = SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port()));
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  int port() {
    InetSocketAddress a = server.addresses().get("native");
    return a.getPort();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void shouldDeliverLivePublishesToMatchingSubscribers() {
    ConcurrentLinkedQueue<LiveMessage> got = new ConcurrentLinkedQueue<>();
    try (SwitchboardClient other =
        SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port()))) {
      other.subscribe("greet.>", got::add);
      PubAck ack = client.publish(PublishBuilder.to("greet.world", "hello").header("lang", "en"));
      assertThat(ack.durability()).isEqualTo(PubAck.Durability.MEMORY);
      client.publish("other.subject", utf8("not for you"));
      await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 1);
      LiveMessage m = got.peek();
      assertThat(m.subject()).isEqualTo("greet.world");
      assertThat(text(m.payload())).isEqualTo("hello");
      assertThat(m.headers()).anySatisfy(h -> assertThat(h.key()).isEqualTo("lang"));
    }
  }

  @Test
  void shouldAnswerRequestsAndSayWhenNobodyListens() {
    try (SwitchboardClient responder =
        SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port()))) {
      responder.subscribe("svc.echo", m -> responder.reply(m, utf8("echo: " + text(m.payload()))));
      Reply r = client.request("svc.echo", utf8("ping"), Duration.ofSeconds(5)).join();
      assertThat(text(r.payload())).isEqualTo("echo: ping");
    }
    assertThatThrownBy(() -> client.request("svc.none", utf8("x"), Duration.ofSeconds(5)).join())
        .isInstanceOf(CompletionException.class)
        .cause()
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.NO_RESPONDERS));
  }

  @Test
  void shouldRunAWorkQueueThroughAdminFetchAndAck() {
    String info =
        client.admin(
            Admin.Op.STREAM_CREATE,
            "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"],\"retention\":\"work_queue\"}");
    assertThat(info).contains("\"JOBS\"");
    client.admin(
        Admin.Op.CONSUMER_CREATE,
        "{\"stream\":\"JOBS\",\"config\":{\"name\":\"workers\",\"ackPolicy\":\"each\"}}");
    assertThat(client.admin(Admin.Op.STREAM_INFO, "{\"name\":\"JOBS\"}"))
        .contains("\"retention\":\"work_queue\"");
    assertThat(client.admin(Admin.Op.CONSUMER_LIST, "{\"stream\":\"JOBS\"}"))
        .startsWith("{\"consumers\":[");
    for (int i = 0; i < 10; i++) {
      PubAck ack = client.publish("jobs.email", utf8("job-" + i));
      assertThat(ack.stream()).isEqualTo("JOBS");
      assertThat(ack.offset()).isEqualTo(i);
    }
    int done = 0;
    while (done < 10) {
      List<DeliveryEntry> batch = client.fetch("JOBS", "workers", "w1", 4, 1000);
      for (DeliveryEntry d : batch) {
        assertThat(text(d.payload())).isEqualTo("job-" + d.offset());
        assertThat(client.ack("JOBS", "workers", d)).isTrue();
        done++;
      }
    }
    assertThat(client.admin(Admin.Op.CONSUMER_INFO, "{\"stream\":\"JOBS\",\"name\":\"workers\"}"))
        .contains("\"unacknowledged\":0");
    assertThatThrownBy(
            () ->
                client.admin(
                    Admin.Op.STREAM_CREATE, "{\"name\":\"X\",\"subjects\":[\"x\"],\"colour\":1}"))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.INVALID_CONFIG);
              assertThat(e.getMessage()).contains("colour");
            });
  }

  @Test
  void shouldRejectAStaleEventStoreAppendWithTheConflictCode() {
    client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"ORDERS\",\"subjects\":[\"order.>\"]}");
    client.publish(PublishBuilder.to("order.1", "created").expectLastOffset(-1));
    client.publish(PublishBuilder.to("order.1", "paid").expectLastOffset(0));
    assertThatThrownBy(
            () -> client.publish(PublishBuilder.to("order.1", "shipped").expectLastOffset(0)))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PUBLISH_CONFLICT));
    assertThat(client.readSubject("ORDERS", "order.1", 0, 10).messages())
        .extracting(m -> text(m.payload()))
        .containsExactly("created", "paid");
    assertThat(text(client.last("ORDERS", "order.1").messages().get(0).payload()))
        .isEqualTo("paid");
  }

  @Test
  void garbageGetsAnErrorFrameAndACloseWhileOtherConnectionsCarryOn() throws Exception {
    try (Socket s = new Socket("127.0.0.1", port())) {
      OutputStream out = s.getOutputStream();
      // A frame header declaring 2 GiB: refused before anything is allocated.
      out.write(new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x01, 0x00});
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      int length = in.readInt();
      int type = in.readUnsignedByte();
      in.readUnsignedByte(); // flags
      byte[] body = in.readNBytes(length);
      assertThat(type).isEqualTo(0x06); // ERROR
      assertThat(text(body)).contains("exceeds the limit");
      assertThat(in.read()).as("closed after the error").isEqualTo(-1);
    }
    try (Socket silent = new Socket("127.0.0.1", port())) {
      InputStream in = silent.getInputStream();
      byte[] all = in.readAllBytes(); // the server ends it after the handshake timeout
      assertThat(text(all)).contains("no handshake within 500 ms");
    }
    assertThat(client.publish("still.fine", utf8("yes")).durability())
        .isEqualTo(PubAck.Durability.MEMORY);
  }
}
