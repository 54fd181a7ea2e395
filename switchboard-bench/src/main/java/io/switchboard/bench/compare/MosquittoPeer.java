package io.switchboard.bench.compare;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Eclipse Mosquitto from Debian's package, driven by the suite's Paho driver. */
final class MosquittoPeer implements Peer {
  @Override
  public String name() {
    return "Mosquitto";
  }

  @Override
  public String version() {
    return Procs.debianVersion("mosquitto");
  }

  @Override
  public String durability(Durability d) {
    return "in memory (persistence off, its default); it has no fsync-before-ack mode";
  }

  @Override
  public boolean supports(Durability d) {
    return d == Durability.DEFAULT;
  }

  @Override
  public List<Workload> workloads() {
    return List.of(Workload.FANOUT_1, Workload.FANOUT_10, Workload.MQTT_QOS1);
  }

  /** The configuration file: one listener on loopback, anonymous clients, no persistence. */
  static String config(int port) {
    return "listener "
        + port
        + " 127.0.0.1\n"
        + "allow_anonymous true\n"
        + "persistence false\n"
        + "max_inflight_messages 1000\n"
        + "max_queued_messages 100000\n"
        + "log_dest stdout\n";
  }

  @Override
  public Running start(Path dir, Durability d) throws Exception {
    int port = Running.freePort();
    Path conf = dir.resolve("mosquitto.conf");
    Files.createDirectories(dir);
    Files.writeString(conf, config(port));
    Path log = dir.resolve("mosquitto.log");
    Process p = Procs.start(List.of("mosquitto", "-c", conf.toString()), Map.of(), log);
    return new Running(List.of(p), Map.of("mqtt", port), log)
        .awaitListening(Duration.ofSeconds(20));
  }

  @Override
  public List<Result> run(Running r, Workload w, Durability d, Settings s) throws Exception {
    return List.of(
        w == Workload.MQTT_QOS1
            ? MqttDriver.qos1(name(), r.port("mqtt"), w, d, s)
            : MqttDriver.fanOut(name(), r.port("mqtt"), w, d, s));
  }
}
