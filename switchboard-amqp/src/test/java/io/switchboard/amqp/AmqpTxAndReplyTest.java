package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.RpcClient;
import com.rabbitmq.client.RpcClientParams;
import com.rabbitmq.client.RpcServer;
import com.rabbitmq.client.ShutdownSignalException;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Transactions (tx.*) and direct reply-to, with RabbitMQ's Java client and its RPC classes. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpTxAndReplyTest {
  @TempDir Path dir;
  SwitchboardServer server;
  Connection connection;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    connection = connect();
  }

  Connection connect() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    return f.newConnection("amqp-tx-reply-test");
  }

  @AfterEach
  void stop() throws Exception {
    if (connection != null && connection.isOpen()) {
      connection.close();
    }
    server.close();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void publishesWaitForCommitAndARollbackDropsThem() throws Exception {
    Channel admin = connection.createChannel();
    admin.queueDeclare("txq", false, false, false, null);
    Channel tx = connection.createChannel();
    tx.txSelect();
    tx.basicPublish("", "txq", null, utf8("one"));
    tx.basicPublish("", "txq", null, utf8("two"));
    assertThat(admin.messageCount("txq")).isZero(); // a round trip after the publishes
    tx.txCommit();
    assertThat(admin.messageCount("txq")).isEqualTo(2);
    tx.basicPublish("", "txq", null, utf8("rolled back"));
    tx.txRollback();
    tx.txCommit(); // commits nothing
    assertThat(admin.messageCount("txq")).isEqualTo(2);
  }

  @Test
  void acknowledgementsWaitForCommitToo() throws Exception {
    Channel admin = connection.createChannel();
    admin.queueDeclare("txacks", false, false, false, null);
    admin.confirmSelect();
    admin.basicPublish("", "txacks", null, utf8("a"));
    admin.basicPublish("", "txacks", null, utf8("b"));
    admin.waitForConfirmsOrDie(10_000);

    Channel tx = connection.createChannel();
    tx.txSelect();
    GetResponse a = tx.basicGet("txacks", false);
    assertThat(text(a.getBody())).isEqualTo("a");
    tx.basicAck(a.getEnvelope().getDeliveryTag(), false);
    tx.txRollback(); // the ack is gone: "a" is still unacknowledged
    tx.close(); // and comes back
    GetResponse again = admin.basicGet("txacks", true);
    assertThat(text(again.getBody())).isEqualTo("a");
    assertThat(again.getEnvelope().isRedeliver()).isTrue();

    Channel tx2 = connection.createChannel();
    tx2.txSelect();
    GetResponse b = tx2.basicGet("txacks", false);
    assertThat(text(b.getBody())).isEqualTo("b");
    tx2.basicAck(b.getEnvelope().getDeliveryTag(), false);
    tx2.txCommit();
    tx2.close(); // acknowledged: it does not come back
    assertThat(admin.basicGet("txacks", true)).isNull();
  }

  @Test
  void aMandatoryReturnOfATransactionComesAtCommit() throws Exception {
    Channel tx = connection.createChannel();
    List<String> returned = new CopyOnWriteArrayList<>();
    tx.addReturnListener(r -> returned.add(text(r.getBody())));
    tx.txSelect();
    tx.basicPublish("amq.direct", "nobody", true, null, utf8("lost"));
    tx.queueDeclare("sync", false, false, true, null); // a round trip: nothing returned yet
    assertThat(returned).isEmpty();
    tx.txCommit();
    assertThat(returned).containsExactly("lost"); // basic.return precedes commit-ok
  }

  static int closeCode(Throwable e) {
    return ((AMQP.Channel.Close) ((ShutdownSignalException) e.getCause()).getReason())
        .getReplyCode();
  }

  @Test
  void txAndConfirmsDoNotMixAndCommitNeedsSelect() throws Exception {
    Channel a = connection.createChannel();
    a.confirmSelect();
    assertThatThrownBy(a::txSelect).satisfies(e -> assertThat(closeCode(e)).isEqualTo(406));
    Channel b = connection.createChannel();
    b.txSelect();
    assertThatThrownBy(b::confirmSelect).satisfies(e -> assertThat(closeCode(e)).isEqualTo(406));
    Channel c = connection.createChannel();
    assertThatThrownBy(c::txCommit).satisfies(e -> assertThat(closeCode(e)).isEqualTo(406));
    assertThat(connection.isOpen()).isTrue();
  }

  @Test
  void directReplyToServesRabbitMqsRpcClientAndServer() throws Exception {
    Channel serverChannel = connection.createChannel();
    serverChannel.queueDeclare("rpc", false, false, true, null);
    List<String> replyTos = new CopyOnWriteArrayList<>();
    RpcServer rpc =
        new RpcServer(serverChannel, "rpc") {
          @Override
          public byte[] handleCall(
              com.rabbitmq.client.Delivery request, AMQP.BasicProperties replyProperties) {
            replyTos.add(request.getProperties().getReplyTo());
            return utf8("re: " + text(request.getBody()));
          }
        };
    Thread serving =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    rpc.mainloop();
                  } catch (Exception e) {
                    // closed at the end of the test
                  }
                });
    try (Connection clientConnection = connect()) {
      Channel clientChannel = clientConnection.createChannel();
      // RpcClient's default reply-to is direct reply-to (amq.rabbitmq.reply-to).
      RpcClient client =
          new RpcClient(
              new RpcClientParams().channel(clientChannel).exchange("").routingKey("rpc"));
      assertThat(text(client.primitiveCall(utf8("ping")))).isEqualTo("re: ping");
      assertThat(text(client.primitiveCall(utf8("again")))).isEqualTo("re: again");
      client.close();
    } finally {
      rpc.terminateMainloop();
      serving.join(10_000);
    }
    assertThat(replyTos).hasSize(2).allMatch(r -> r.startsWith("amq.rabbitmq.reply-to."));
  }

  @Test
  void aReplyToWithoutTheReplyConsumerIs406AndTheConsumerMustNotAck() throws Exception {
    Channel ch = connection.createChannel();
    ch.confirmSelect();
    ch.basicPublish(
        "",
        "anything",
        new AMQP.BasicProperties.Builder().replyTo("amq.rabbitmq.reply-to").build(),
        utf8("x"));
    assertThatThrownBy(() -> ch.waitForConfirms(10_000))
        .isInstanceOf(ShutdownSignalException.class)
        .satisfies(
            e ->
                assertThat(
                        ((AMQP.Channel.Close) ((ShutdownSignalException) e).getReason())
                            .getReplyCode())
                    .isEqualTo(406));
    Channel acking = connection.createChannel();
    assertThatThrownBy(
            () -> acking.basicConsume("amq.rabbitmq.reply-to", false, (t, d) -> {}, t -> {}))
        .isInstanceOf(IOException.class)
        .satisfies(e -> assertThat(closeCode(e)).isEqualTo(406));
  }

  @Test
  void aNativeResponderAnswersAnAmqpDirectReplyToRequest() throws Exception {
    try (io.switchboard.client.SwitchboardClient nativeClient =
        io.switchboard.client.SwitchboardClient.connect(
            io.switchboard.client.ClientOptions.of(
                "127.0.0.1", server.addresses().get("native").getPort()))) {
      // Requests to amq.direct with key "rpc" are published on subject amq%2Edirect.rpc.
      var responder =
          nativeClient.subscribe(
              "amq%2Edirect.rpc",
              request ->
                  nativeClient.reply(request, utf8("native re: " + text(request.payload()))));
      Channel ch = connection.createChannel();
      RpcClient client =
          new RpcClient(
              new RpcClientParams()
                  .channel(ch)
                  .exchange("amq.direct")
                  .routingKey("rpc")
                  .timeout(2_000));
      // The subscription is in place once a call is answered; a call before it times out.
      String answer =
          org.awaitility.Awaitility.await()
              .atMost(java.time.Duration.ofSeconds(20))
              .ignoreExceptions()
              .until(() -> text(client.primitiveCall(utf8("hello"))), a -> a != null);
      assertThat(answer).isEqualTo("native re: hello");
      client.close();
      responder.close();
    }
  }
}
