package io.switchboard.bench.compare;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.MessageProperties;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * RabbitMQ from Debian's package, with an epmd of its own, driven by the suite's driver on
 * amqp-client (the official Java client): a durable classic queue, persistent messages, publisher
 * confirms, consumers with manual acks.
 */
final class RabbitPeer implements Peer {
  static final String CLIENT = "suite driver on amqp-client 5.37.0";
  static final String SAME =
      "durable classic queue, persistent messages, publisher confirms: a confirm is sent once the"
          + " message is fsynced (the same setting in both runs)";

  @Override
  public String name() {
    return "RabbitMQ";
  }

  @Override
  public String version() {
    return Procs.debianVersion("rabbitmq-server");
  }

  @Override
  public String durability(Durability d) {
    return SAME;
  }

  @Override
  public boolean supports(Durability d) {
    return true;
  }

  @Override
  public List<Workload> workloads() {
    return List.of(
        Workload.PUBLISH_100B, Workload.PUBLISH_1KIB, Workload.LATENCY_1KIB, Workload.WORK_QUEUE);
  }

  /** rabbitmq.conf: loopback listener, guest allowed from loopback. */
  static String config(int port) {
    return "listeners.tcp.1 = 127.0.0.1:" + port + "\n" + "loopback_users = none\n";
  }

  /** The environment that keeps the node's files under {@code dir} and its ports private. */
  static Map<String, String> environment(Path dir, int port, int distPort, int epmdPort) {
    return Map.ofEntries(
        Map.entry("HOME", dir.resolve("home").toString()),
        Map.entry("RABBITMQ_NODENAME", "sbbench@localhost"),
        Map.entry("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"),
        Map.entry("RABBITMQ_NODE_PORT", "" + port),
        Map.entry("RABBITMQ_DIST_PORT", "" + distPort),
        Map.entry("ERL_EPMD_PORT", "" + epmdPort),
        Map.entry("ERL_EPMD_ADDRESS", "127.0.0.1"),
        Map.entry("RABBITMQ_MNESIA_BASE", dir.resolve("mnesia").toString()),
        Map.entry("RABBITMQ_LOG_BASE", dir.resolve("log").toString()),
        Map.entry("RABBITMQ_CONFIG_FILE", dir.resolve("rabbitmq").toString()),
        Map.entry("RABBITMQ_ENABLED_PLUGINS_FILE", dir.resolve("enabled_plugins").toString()),
        Map.entry("RABBITMQ_PID_FILE", dir.resolve("rabbitmq.pid").toString()));
  }

  @Override
  public Running start(Path dir, Durability d) throws Exception {
    int port = Running.freePort();
    int dist = Running.freePort();
    int epmdPort = Running.freePort();
    Files.createDirectories(dir.resolve("home"));
    Files.writeString(dir.resolve("rabbitmq.conf"), config(port));
    Files.writeString(dir.resolve("enabled_plugins"), "[].\n");
    Map<String, String> env = environment(dir, port, dist, epmdPort);
    Path epmdLog = dir.resolve("epmd.log");
    Process epmd =
        Procs.start(
            List.of("epmd", "-port", "" + epmdPort),
            Map.of("ERL_EPMD_ADDRESS", "127.0.0.1"),
            epmdLog);
    Running.awaitPort(epmd, epmdPort, Duration.ofSeconds(10), epmdLog);
    Path log = dir.resolve("rabbitmq.log");
    Process p;
    try {
      p = Procs.start(List.of("/usr/lib/rabbitmq/bin/rabbitmq-server"), env, log);
    } catch (Exception e) {
      Running.stop(epmd.toHandle());
      throw e;
    }
    return new Running(List.of(epmd, p), Map.of("amqp", port), log)
        .awaitListening(Duration.ofSeconds(90));
  }

  @Override
  public List<Result> run(Running r, Workload w, Durability d, Settings s) throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(r.port("amqp"));
    String queue = "bench." + w.name().toLowerCase(java.util.Locale.ROOT);
    List<Connection> conns = new ArrayList<>();
    try {
      Connection pubConn = f.newConnection("bench-publisher");
      conns.add(pubConn);
      Channel pub = pubConn.createChannel();
      pub.queueDeclare(queue, true, false, false, null);
      Load load = s.load(w);
      int consumers =
          switch (w) {
            case WORK_QUEUE -> 2;
            case LATENCY_1KIB -> 1;
            default -> 0;
          };
      for (int i = 0; i < consumers; i++) {
        Connection c = f.newConnection("bench-consumer-" + i);
        conns.add(c);
        Channel ch = c.createChannel();
        ch.basicQos(Settings.WINDOW);
        ch.basicConsume(
            queue,
            false,
            (tag, delivery) -> {
              load.received(delivery.getBody());
              ch.basicAck(delivery.getEnvelope().getDeliveryTag(), false);
            },
            tag -> {});
      }
      load.publish(confirmingSender(pub, queue));
      if (consumers > 0) {
        load.drain(1);
      }
      return List.of(load.result(name(), CLIENT, d, consumers > 0 ? 1 : 0, ""));
    } finally {
      for (Connection c : conns) {
        c.close();
      }
    }
  }

  /** Publishes persistent messages on a channel in confirm mode; confirms complete the sends. */
  static Load.Sender confirmingSender(Channel ch, String queue) throws Exception {
    ConcurrentNavigableMap<Long, Runnable[]> outstanding = new ConcurrentSkipListMap<>();
    ch.confirmSelect();
    ch.addConfirmListener(
        (seq, multiple) -> settle(outstanding, seq, multiple, 0),
        (seq, multiple) -> settle(outstanding, seq, multiple, 1));
    return (payload, done, failed) -> {
      long seq = ch.getNextPublishSeqNo();
      outstanding.put(
          seq,
          new Runnable[] {
            done, () -> failed.accept(new IllegalStateException("nack from RabbitMQ"))
          });
      ch.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, payload);
    };
  }

  private static void settle(
      ConcurrentNavigableMap<Long, Runnable[]> outstanding, long seq, boolean multiple, int which) {
    if (multiple) {
      var head = outstanding.headMap(seq, true);
      for (Runnable[] r : head.values()) {
        r[which].run();
      }
      head.clear();
    } else {
      Runnable[] r = outstanding.remove(seq);
      if (r != null) {
        r[which].run();
      }
    }
  }
}
