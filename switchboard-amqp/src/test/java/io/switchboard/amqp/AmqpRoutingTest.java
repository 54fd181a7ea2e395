package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routing RabbitMQ's Java client sees: topic keys with '#' anywhere, headers exchanges and
 * exchange-to-exchange bindings, against a whole server on loopback.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpRoutingTest {
  @TempDir Path dir;
  SwitchboardServer server;
  Connection connection;

  @BeforeEach
  void start() throws Exception {
    startServer();
    connection = connect();
  }

  void startServer() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  Connection connect() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(server.addresses().get("amqp").getPort());
    f.setAutomaticRecoveryEnabled(false);
    return f.newConnection("amqp-routing-test");
  }

  void restart() throws Exception {
    connection.close();
    server.close();
    startServer();
    connection = connect();
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

  /** Bodies of every message in a queue (basic.get, auto-ack). */
  static List<String> drain(Channel ch, String queue) throws IOException {
    List<String> out = new ArrayList<>();
    GetResponse r;
    while ((r = ch.basicGet(queue, true)) != null) {
      out.add(text(r.getBody()));
    }
    return out;
  }

  static final List<String> KEYS =
      List.of("a", "a.b", "a.x.b", "a.x.y.b", "b", "", "a.", ".a", "a..b", "x.y");

  /** RabbitMQ 3.10.8's answers (PROTOCOLS.md B4), '#' in the middle and at the start included. */
  static Map<String, List<String>> rabbitMqTable() {
    Map<String, List<String>> t = new LinkedHashMap<>();
    t.put("a.#", List.of("a", "a.b", "a.x.b", "a.x.y.b", "a.", "a..b"));
    t.put("#.b", List.of("a.b", "a.x.b", "a.x.y.b", "b", "a..b"));
    t.put("a.#.b", List.of("a.b", "a.x.b", "a.x.y.b", "a..b"));
    t.put("a.*", List.of("a.b", "a."));
    t.put("a.*.b", List.of("a.x.b", "a..b"));
    t.put("*", List.of("a", "b"));
    t.put("*.*", List.of("a.b", "a.", ".a", "x.y"));
    t.put("#", KEYS);
    t.put("", List.of(""));
    return t;
  }

  @Test
  void topicKeysWithHashAnywhereRouteAsRabbitMqAndSurviveARestart() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("t", BuiltinExchangeType.TOPIC, true);
    Map<String, String> queueOf = new HashMap<>();
    int i = 0;
    for (String pattern : rabbitMqTable().keySet()) {
      String q = "q" + i++;
      queueOf.put(pattern, q);
      ch.queueDeclare(q, true, false, false, null);
      ch.queueBind(q, "t", pattern);
    }
    for (int round = 0; round < 2; round++) {
      Channel c = connection.createChannel();
      c.confirmSelect();
      for (String key : KEYS) {
        c.basicPublish("t", key, true, null, utf8(key));
      }
      c.waitForConfirmsOrDie(10_000);
      for (Map.Entry<String, List<String>> e : rabbitMqTable().entrySet()) {
        assertThat(drain(c, queueOf.get(e.getKey())))
            .as("binding '%s'", e.getKey())
            .containsExactlyInAnyOrderElementsOf(e.getValue());
      }
      restart(); // the filter of '#.b' and 'a.#.b' is in force again after a restart
    }
  }

  @Test
  void aMandatoryPublishTheMiddleHashDoesNotMatchIsReturned() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("t2", BuiltinExchangeType.TOPIC);
    ch.queueDeclare("mid", false, false, false, null);
    ch.queueBind("mid", "t2", "a.#.b");
    List<String> returned = new CopyOnWriteArrayList<>();
    ch.addReturnListener(r -> returned.add(r.getRoutingKey()));
    ch.confirmSelect();
    ch.basicPublish("t2", "a.x.c", true, null, utf8("no"));
    ch.basicPublish("t2", "a.x.y.b", true, null, utf8("yes"));
    ch.waitForConfirmsOrDie(10_000);
    assertThat(returned).containsExactly("a.x.c");
    assertThat(drain(ch, "mid")).containsExactly("yes");
  }

  static AMQP.BasicProperties headers(Map<String, Object> h) {
    return new AMQP.BasicProperties.Builder().headers(h).build();
  }

  @Test
  void headersExchangesMatchAllAnyAndWithX() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("h", BuiltinExchangeType.HEADERS, true);
    for (String q : List.of("all", "any", "allx", "anyx", "present", "empty-all")) {
      ch.queueDeclare(q, false, false, false, null);
    }
    ch.queueBind("all", "h", "", Map.of("x-match", "all", "format", "pdf", "type", "report"));
    ch.queueBind("any", "h", "ignored", Map.of("x-match", "any", "format", "pdf", "type", "log"));
    ch.queueBind("allx", "h", "", Map.of("x-match", "all-with-x", "x-tag", "t1", "n", 1));
    ch.queueBind("anyx", "h", "", Map.of("x-match", "any-with-x", "x-tag", "t1"));
    Map<String, Object> presence = new HashMap<>();
    presence.put("x-match", "all");
    presence.put("flag", null); // void: matches the header's presence
    ch.queueBind("present", "h", "", presence);
    ch.queueBind("empty-all", "h", "", Map.of("x-other", "ignored")); // nothing to compare
    ch.confirmSelect();
    ch.basicPublish(
        "h", "", headers(Map.of("format", "pdf", "type", "report")), utf8("pdf-report"));
    ch.basicPublish("h", "", headers(Map.of("format", "pdf")), utf8("pdf"));
    ch.basicPublish("h", "", headers(Map.of("type", "log")), utf8("log"));
    // a long (8 bytes) 1 equals an int 1 (same type class), as in RabbitMQ
    ch.basicPublish("h", "", headers(Map.of("x-tag", "t1", "n", 1L)), utf8("tagged"));
    ch.basicPublish("h", "", headers(Map.of("x-tag", "t1", "n", "1")), utf8("n-as-string"));
    ch.basicPublish("h", "", headers(Map.of("flag", false)), utf8("flagged"));
    ch.basicPublish("h", "", null, utf8("bare"));
    ch.waitForConfirmsOrDie(10_000);
    assertThat(drain(ch, "all")).containsExactly("pdf-report");
    assertThat(drain(ch, "any")).containsExactly("pdf-report", "pdf", "log");
    assertThat(drain(ch, "allx")).containsExactly("tagged");
    assertThat(drain(ch, "anyx")).containsExactly("tagged", "n-as-string");
    assertThat(drain(ch, "present")).containsExactly("flagged");
    assertThat(drain(ch, "empty-all"))
        .containsExactly("pdf-report", "pdf", "log", "tagged", "n-as-string", "flagged", "bare");

    // Unbinding takes the same arguments; a binding's arguments tell it apart.
    ch.queueUnbind("all", "h", "", Map.of("x-match", "all", "format", "pdf", "type", "report"));
    List<String> returned = new CopyOnWriteArrayList<>();
    ch.addReturnListener(r -> returned.add(text(r.getBody())));
    ch.queueUnbind("empty-all", "h", "", Map.of("x-other", "ignored"));
    ch.basicPublish("h", "", true, headers(Map.of("format", "doc")), utf8("unrouted"));
    ch.basicPublish(
        "h", "", true, headers(Map.of("format", "pdf", "type", "report")), utf8("again"));
    ch.waitForConfirmsOrDie(10_000);
    assertThat(returned).containsExactly("unrouted"); // "empty-all" no longer takes everything
    assertThat(drain(ch, "all")).isEmpty();
    assertThat(drain(ch, "any")).containsExactly("again");
  }

  @Test
  void headersBindingsSurviveARestartAndPredeclaredHeadersExchangesExist() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclarePassive("amq.headers");
    ch.exchangeDeclarePassive("amq.match");
    ch.queueDeclare("hq", true, false, false, null);
    ch.queueBind("hq", "amq.headers", "", Map.of("x-match", "any", "k", "v"));
    restart();
    Channel after = connection.createChannel();
    after.confirmSelect();
    after.basicPublish("amq.headers", "", headers(Map.of("k", "v")), utf8("match"));
    after.basicPublish("amq.headers", "", headers(Map.of("k", "w")), utf8("other"));
    after.waitForConfirmsOrDie(10_000);
    assertThat(drain(after, "hq")).containsExactly("match");
  }

  @Test
  void aBadXMatchIsRefusedWith406() throws Exception {
    Channel ch = connection.createChannel();
    ch.queueDeclare("bad", false, false, false, null);
    assertThatThrownBy(() -> ch.queueBind("bad", "amq.headers", "", Map.of("x-match", "some")))
        .isInstanceOf(IOException.class)
        .cause()
        .isInstanceOfSatisfying(
            ShutdownSignalException.class,
            e -> assertThat(((AMQP.Channel.Close) e.getReason()).getReplyCode()).isEqualTo(406));
    assertThat(connection.isOpen()).isTrue();
  }

  @Test
  void exchangeToExchangeBindingsRouteThroughChainsAndCyclesAndSurviveARestart() throws Exception {
    Channel ch = connection.createChannel();
    ch.exchangeDeclare("src", BuiltinExchangeType.TOPIC, true);
    ch.exchangeDeclare("dst", BuiltinExchangeType.DIRECT, true);
    ch.exchangeDeclare("hdr", BuiltinExchangeType.HEADERS, true);
    ch.queueDeclare("eq", true, false, false, null);
    ch.queueBind("eq", "dst", "a.b");
    ch.exchangeBind("dst", "src", "a.#"); // src's "a.…" go on to dst, which wants "a.b"
    ch.exchangeBind("src", "hdr", "", Map.of("x-match", "any", "via", "hdr")); // a chain
    ch.exchangeBind("src", "dst", "a.b"); // and a cycle: dst -> src -> dst
    ch.confirmSelect();
    ch.basicPublish("src", "a.b", null, utf8("src a.b"));
    ch.basicPublish("src", "a.c", null, utf8("src a.c"));
    ch.basicPublish("hdr", "a.b", headers(Map.of("via", "hdr")), utf8("hdr a.b"));
    ch.basicPublish("hdr", "a.b", headers(Map.of("via", "other")), utf8("hdr other"));
    ch.basicPublish("dst", "a.b", null, utf8("dst a.b")); // once, though the cycle comes back
    ch.waitForConfirmsOrDie(10_000);
    GetResponse first = ch.basicGet("eq", true);
    assertThat(first.getEnvelope().getExchange()).isEqualTo("src"); // where it was published
    assertThat(first.getEnvelope().getRoutingKey()).isEqualTo("a.b");
    List<String> got = new ArrayList<>(List.of(text(first.getBody())));
    got.addAll(drain(ch, "eq"));
    assertThat(got).containsExactly("src a.b", "hdr a.b", "dst a.b");

    restart();
    Channel after = connection.createChannel();
    List<String> returned = new CopyOnWriteArrayList<>();
    after.addReturnListener(r -> returned.add(text(r.getBody())));
    after.confirmSelect();
    after.basicPublish("hdr", "a.b", true, headers(Map.of("via", "hdr")), utf8("after restart"));
    after.basicPublish("src", "a.c", true, null, utf8("unroutable"));
    after.waitForConfirmsOrDie(10_000);
    assertThat(drain(after, "eq")).containsExactly("after restart");
    assertThat(returned).containsExactly("unroutable");

    after.exchangeUnbind("dst", "src", "a.#");
    after.basicPublish("src", "a.b", true, null, utf8("unbound"));
    after.waitForConfirmsOrDie(10_000);
    assertThat(drain(after, "eq")).isEmpty();
    assertThat(returned).containsExactly("unroutable", "unbound");

    // A queue bound after the exchange binding gets the chain too; deleting a middle exchange
    // takes its exchange bindings with it.
    after.exchangeDeclare("mid", BuiltinExchangeType.FANOUT, false);
    after.exchangeBind("mid", "src", "x.*");
    after.queueDeclare("late", false, false, false, null);
    after.queueBind("late", "mid", "");
    after.basicPublish("src", "x.y", null, utf8("late"));
    after.waitForConfirmsOrDie(10_000);
    assertThat(drain(after, "late")).containsExactly("late");
    after.exchangeDelete("mid");
    after.basicPublish("src", "x.y", true, null, utf8("mid gone"));
    after.waitForConfirmsOrDie(10_000);
    assertThat(returned).contains("mid gone");
    assertThat(drain(after, "late")).isEmpty();
  }

  @Test
  void anExchangeBindToAMissingExchangeIs404() throws Exception {
    Channel ch = connection.createChannel();
    assertThatThrownBy(() -> ch.exchangeBind("amq.fanout", "nope", ""))
        .isInstanceOf(IOException.class)
        .cause()
        .isInstanceOfSatisfying(
            ShutdownSignalException.class,
            e -> assertThat(((AMQP.Channel.Close) e.getReason()).getReplyCode()).isEqualTo(404));
  }
}
