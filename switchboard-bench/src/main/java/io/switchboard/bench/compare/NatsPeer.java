package io.switchboard.bench.compare;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * NATS server with JetStream from Debian's package, driven by the suite's drivers on jnats (the
 * official Java client): JetStream for the persisted workloads, core NATS for fan-out and
 * request/reply.
 */
final class NatsPeer implements Peer {
  static final String CLIENT = "suite driver on jnats 2.26.2";

  @Override
  public String name() {
    return "NATS";
  }

  @Override
  public String version() {
    return Procs.firstLine("nats-server", "--version");
  }

  @Override
  public String durability(Durability d) {
    return d == Durability.DEFAULT
        ? "JetStream file storage, its default: written before the ack, fsynced every 2 min"
        : "not measured: `sync_interval: always` needs NATS 2.10+, and Debian ships 2.9";
  }

  @Override
  public boolean supports(Durability d) {
    return d == Durability.DEFAULT;
  }

  @Override
  public List<Workload> workloads() {
    return List.of(
        Workload.PUBLISH_100B,
        Workload.PUBLISH_1KIB,
        Workload.LATENCY_1KIB,
        Workload.LATENCY_1KIB_5K,
        Workload.WORK_QUEUE,
        Workload.FANOUT_1,
        Workload.FANOUT_10,
        Workload.REQUEST_REPLY);
  }

  /** The configuration file: loopback only, JetStream on with its store under {@code dir}. */
  static String config(int port, Path dir) {
    return "listen: 127.0.0.1:"
        + port
        + "\n"
        + "max_payload: 1048576\n"
        + "jetstream {\n"
        + "  store_dir: \""
        + dir.resolve("js")
        + "\"\n"
        + "  max_file_store: 32GB\n"
        + "}\n";
  }

  @Override
  public Running start(Path dir, Durability d) throws Exception {
    int port = Running.freePort();
    Files.createDirectories(dir);
    Path conf = dir.resolve("nats.conf");
    Files.writeString(conf, config(port, dir));
    Path log = dir.resolve("nats.log");
    Process p = Procs.start(List.of("nats-server", "-c", conf.toString()), Map.of(), log);
    return new Running(List.of(p), Map.of("nats", port), log)
        .awaitListening(Duration.ofSeconds(20));
  }

  static Connection connect(Running r) throws Exception {
    return Nats.connect(
        Options.builder()
            .server("nats://127.0.0.1:" + r.port("nats"))
            .maxMessagesInOutgoingQueue(100_000)
            .build());
  }

  @Override
  public List<Result> run(Running r, Workload w, Durability d, Settings s) throws Exception {
    List<Connection> conns = new ArrayList<>();
    try {
      Connection nc = connect(r);
      conns.add(nc);
      Load load = s.load(w);
      String subject = "bench." + w.name().toLowerCase(java.util.Locale.ROOT);
      switch (w) {
        case PUBLISH_100B, PUBLISH_1KIB -> {
          stream(nc, w, subject, RetentionPolicy.Limits);
          load.publish(jetStreamSender(nc.jetStream(), subject));
          return List.of(load.result(name(), CLIENT, d, 0, ""));
        }
        case LATENCY_1KIB, LATENCY_1KIB_5K, WORK_QUEUE -> {
          boolean queue = w == Workload.WORK_QUEUE;
          stream(nc, w, subject, queue ? RetentionPolicy.WorkQueue : RetentionPolicy.Limits);
          int members = queue ? 2 : 1;
          for (int i = 0; i < members; i++) {
            Connection c = connect(r);
            conns.add(c);
            Dispatcher dispatcher = c.createDispatcher();
            c.jetStream()
                .subscribe(
                    subject,
                    "workers",
                    dispatcher,
                    m -> {
                      load.received(m.getData());
                      m.ack();
                    },
                    false,
                    PushSubscribeOptions.builder()
                        .durable("workers")
                        .configuration(
                            ConsumerConfiguration.builder()
                                .ackPolicy(AckPolicy.Explicit)
                                .maxAckPending(Settings.WINDOW)
                                .build())
                        .build());
          }
          load.publish(jetStreamSender(nc.jetStream(), subject));
          load.drain(1);
          return List.of(load.result(name(), CLIENT, d, 1, "JetStream, explicit acks"));
        }
        case FANOUT_1, FANOUT_10 -> {
          for (int i = 0; i < w.subscribers(); i++) {
            Connection c = connect(r);
            conns.add(c);
            Dispatcher dispatcher = c.createDispatcher(m -> load.received(m.getData()));
            dispatcher.setPendingLimits(-1, -1);
            dispatcher.subscribe(subject);
            c.flush(Duration.ofSeconds(5));
          }
          load.publish(
              (payload, done, failed) -> {
                nc.publish(subject, payload);
                done.run();
              });
          nc.flush(Duration.ofSeconds(30));
          load.drain(w.subscribers());
          return List.of(load.result(name(), CLIENT + ", core NATS", d, w.subscribers(), ""));
        }
        case REQUEST_REPLY -> {
          Connection responder = connect(r);
          conns.add(responder);
          responder
              .createDispatcher(m -> responder.publish(m.getReplyTo(), m.getData()))
              .subscribe(subject);
          responder.flush(Duration.ofSeconds(5));
          load.roundTrips(
              payload -> {
                Message reply = nc.request(subject, payload, Duration.ofSeconds(5));
                if (reply == null) {
                  throw new IllegalStateException("no reply within 5 s");
                }
                load.received(reply.getData());
              });
          return List.of(load.result(name(), CLIENT + ", core NATS", d, 1, ""));
        }
        default -> throw new IllegalArgumentException(w + " is not a NATS workload");
      }
    } finally {
      for (Connection c : conns) {
        c.close();
      }
    }
  }

  private static void stream(Connection nc, Workload w, String subject, RetentionPolicy retention)
      throws Exception {
    JetStreamManagement jsm = nc.jetStreamManagement();
    jsm.addStream(
        StreamConfiguration.builder()
            .name("BENCH_" + w.name())
            .subjects(subject)
            .storageType(StorageType.File)
            .retentionPolicy(retention)
            .replicas(1)
            .build());
  }

  private static Load.Sender jetStreamSender(JetStream js, String subject) {
    return (payload, done, failed) ->
        js.publishAsync(subject, payload)
            .whenComplete(
                (ack, e) -> {
                  if (e != null) {
                    failed.accept(e);
                  } else {
                    done.run();
                  }
                });
  }
}
