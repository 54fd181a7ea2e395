package io.switchboard.broker;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerState;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.stream.DelayStore;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Message;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.io.DyingIO;
import io.switchboard.log.io.SimulatedDisk;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;

/**
 * One seeded power-loss run of a whole broker on a {@link SimulatedDisk}: streams are created,
 * messages published (some delayed, so they sit in delay buckets), bindings declared, consumers
 * created and worked, until the "process" dies after a random number of further disk mutations
 * ({@link DyingIO}) and the power is cut (unforced data lost, the last write possibly torn). Then
 * the broker is opened again on what survived, for a few cycles. Returns every violation found
 * rather than asserting, so the planted-bug test can count how often a bug is caught.
 *
 * <p>Checked after each reboot: the broker opens; every stream whose creation returned exists;
 * every acknowledged publish is at its offset with its payload; every acknowledged delayed message
 * is still waiting (and, at the end, is released into its stream once due); every declared binding
 * is in force; every consumer whose creation returned exists; no message whose acknowledgement the
 * consumer's saved state had shown durable is delivered again; and every acknowledged commit of a
 * consumer group's offset is there (or a later one: commits only grow here).
 *
 * <p>Messages are told apart by partition, offset and payload, not offset alone: a consumer may
 * read (and acknowledge) a record before the fsync that would acknowledge its publish, and when the
 * power cut takes that record, its offset is given to the next publish after the reboot.
 */
final class BrokerPowerLossScenario {
  private BrokerPowerLossScenario() {}

  static final Path DATA = Path.of("/sim/broker");
  private static final long OP_TIMEOUT_MS = 10_000;

  /** The state writer saves within milliseconds; a disk that never makes it durable waits this. */
  private static final long STATE_WAIT_MS = 2_000;

  private static final ObjectMapper JSON =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  /**
   * What a run found.
   *
   * @param problems every violation, each naming the seed
   * @param crashes power cuts simulated
   * @param failedOperations operations refused once the process had died (the cut was mid-work)
   */
  record Outcome(List<String> problems, int crashes, int failedOperations) {}

  private record Stored(String stream, int partition, long offset, String payload) {}

  private record ConsumerKey(String stream, String name) {}

  /** What the broker acknowledged, across reboots. */
  private static final class Model {
    final Map<String, Integer> streams = new LinkedHashMap<>();
    final List<Stored> published = new ArrayList<>();
    final Map<String, List<String>> delayed = new HashMap<>();
    final List<ConsumerKey> consumers = new ArrayList<>();
    final List<String> bindings = new ArrayList<>();
    final Map<ConsumerKey, Set<String>> durablyAcked = new HashMap<>();
    final Map<io.switchboard.broker.group.StreamPartition, Long> committed = new HashMap<>();
    long nextCommit;
    int nextStream;
    int nextPayload;
  }

  static Outcome run(long seed, SimulatedDisk disk) {
    Random random = new Random(seed);
    ManualClock clock = new ManualClock();
    Model model = new Model();
    List<String> problems = new ArrayList<>();
    int crashes = 0;
    int failed = 0;
    int cycles = 2 + random.nextInt(2);
    for (int cycle = 0; cycle < cycles && problems.isEmpty(); cycle++) {
      DyingIO dying = new DyingIO(disk);
      Broker broker;
      try {
        broker = Broker.open(config(dying), clock);
      } catch (RuntimeException e) {
        problems.add("seed " + seed + ": broker did not open after power loss: " + e);
        break;
      }
      try {
        if (cycle > 0) {
          check(seed, broker, model, problems);
        }
        int steps = 8 + random.nextInt(25);
        int dieAt = random.nextInt(steps);
        for (int step = 0; step < steps && problems.isEmpty(); step++) {
          if (step == dieAt) {
            dying.dieAfter(random.nextInt(40));
          }
          if (!operate(random, broker, disk, dying, clock, model)) {
            failed++;
          }
        }
      } finally {
        // The process dies: nothing it does from now on reaches the disk, and its threads end
        // before the power goes, so the cut is the last thing that happens to the disk.
        dying.dieAfter(0);
        closeQuietly(broker);
      }
      disk.crash(random);
      crashes++;
    }
    if (problems.isEmpty()) {
      try (Broker broker = Broker.open(config(disk), clock)) {
        check(seed, broker, model, problems);
        checkDelayedAreReleased(seed, broker, clock, model, problems);
      } catch (RuntimeException e) {
        problems.add("seed " + seed + ": broker did not open after the last power loss: " + e);
      }
    }
    return new Outcome(problems, crashes, failed);
  }

  private static BrokerConfig config(io.switchboard.log.io.StorageIO io) {
    return new BrokerConfig(DATA, LiveBusConfig.DEFAULTS, 1, 1024, 600_000).withStorage(io);
  }

  private static void closeQuietly(Broker broker) {
    try {
      broker.close();
    } catch (RuntimeException e) {
      // A dead disk may fail the close; what matters is what the disk kept.
    }
  }

  /** One random operation; false when the broker refused it (the process had died). */
  private static boolean operate(
      Random random,
      Broker broker,
      SimulatedDisk disk,
      DyingIO dying,
      ManualClock clock,
      Model model) {
    int kind = model.streams.isEmpty() ? 0 : random.nextInt(10);
    try {
      switch (kind) {
        case 0 -> createStream(random, broker, model);
        case 1 -> createConsumer(random, broker, model);
        case 2, 3 -> publishDelayed(random, broker, model);
        case 4, 5 -> consume(random, broker, disk, dying, clock, model);
        case 9 -> commitOffset(random, broker, model);
        default -> publish(random, broker, model);
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static void createStream(Random random, Broker broker, Model model) {
    int n = model.nextStream++;
    int partitions = 1 + random.nextInt(2);
    broker.createStream(
        StreamConfig.builder("S" + n, "s" + n + ".>")
            .partitions(partitions)
            .fsync(FsyncPolicy.ALWAYS)
            .build());
    model.streams.put("S" + n, partitions);
    // And a binding into it, declared (stored in bindings.log on the same disk).
    broker
        .bindDurable(
            BindingSpec.builder("test", "b" + n, "x" + n + ".>", "S" + n)
                .subjectPrefix("s" + n)
                .build(),
            Runnable::run)
        .join();
    model.bindings.add("b" + n);
  }

  private static String pickStream(Random random, Model model) {
    List<String> names = List.copyOf(model.streams.keySet());
    return names.get(random.nextInt(names.size()));
  }

  private static Message message(Random random, String stream, Model model) {
    String payload = "p" + model.nextPayload++;
    String subject = stream.toLowerCase() + ".k" + random.nextInt(3);
    return Message.of(subject, payload.getBytes(StandardCharsets.UTF_8), 0);
  }

  private static void publish(Random random, Broker broker, Model model) throws Exception {
    String stream = pickStream(random, model);
    Message m = message(random, stream, model);
    PublishAck ack =
        broker.publish(m, PublishOptions.NONE).get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    model.published.add(
        new Stored(
            ack.stream(),
            ack.partition(),
            ack.offset(),
            new String(m.payload(), StandardCharsets.UTF_8)));
  }

  private static void publishDelayed(Random random, Broker broker, Model model) throws Exception {
    String stream = pickStream(random, model);
    long delayMs = 60_000 + random.nextInt(60_000);
    Message m =
        message(random, stream, model)
            .withHeader(
                DelayStore.DELAY_HEADER,
                Long.toString(delayMs).getBytes(StandardCharsets.US_ASCII));
    broker.publish(m, PublishOptions.NONE).get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    model
        .delayed
        .computeIfAbsent(stream, s -> new ArrayList<>())
        .add(new String(m.payload(), StandardCharsets.UTF_8));
  }

  /** Commits a consumer group's offset, ever larger, for a partition of a stream. */
  private static void commitOffset(Random random, Broker broker, Model model) throws Exception {
    String stream = pickStream(random, model);
    var p =
        new io.switchboard.broker.group.StreamPartition(
            stream, random.nextInt(model.streams.get(stream)));
    long offset = model.nextCommit++;
    broker
        .groups()
        .commit(
            "G",
            io.switchboard.broker.group.Groups.NO_GENERATION,
            null,
            Map.of(p, io.switchboard.broker.group.OffsetCommit.of(offset)))
        .get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    model.committed.put(p, offset);
  }

  private static void createConsumer(Random random, Broker broker, Model model) {
    String stream = pickStream(random, model);
    String name = "c" + model.consumers.size();
    broker.createConsumer(stream, ConsumerConfig.builder(name).build());
    model.consumers.add(new ConsumerKey(stream, name));
  }

  /**
   * Fetches and acknowledges a few messages, then lets the consumer's state writer run and waits
   * until the acknowledgements are in the durable copy of its state file: from then on, a power cut
   * must not bring them back.
   */
  private static void consume(
      Random random,
      Broker broker,
      SimulatedDisk disk,
      DyingIO dying,
      ManualClock clock,
      Model model)
      throws Exception {
    if (model.consumers.isEmpty()) {
      publish(random, broker, model);
      return;
    }
    ConsumerKey c = model.consumers.get(random.nextInt(model.consumers.size()));
    List<Delivery> got =
        broker
            .fetch(c.stream(), c.name(), "m", 1 + random.nextInt(5), 0)
            .get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    List<Delivery> acked = new ArrayList<>();
    for (Delivery d : got) {
      if (broker
          .ack(c.stream(), c.name(), d.partition(), d.offset())
          .get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        acked.add(d);
      }
    }
    if (acked.isEmpty()) {
      return;
    }
    clock.ms.addAndGet(Broker.CONSUMER_STATE_INTERVAL_MS + 1);
    Path stateFile =
        DATA.resolve("streams")
            .resolve(c.stream())
            .resolve("consumers")
            .resolve(c.name())
            .resolve("state.json");
    try {
      await()
          .atMost(Duration.ofMillis(STATE_WAIT_MS))
          .pollInterval(Duration.ofMillis(5))
          .ignoreExceptions()
          .until(() -> dying.dead() || durablyHolds(disk.durableContentOf(stateFile), acked));
    } catch (ConditionTimeoutException e) {
      return;
    }
    if (dying.dead()) {
      return; // the process died, perhaps before the state was saved: nothing to hold it to
    }
    Set<String> done = model.durablyAcked.computeIfAbsent(c, k -> new HashSet<>());
    for (Delivery d : acked) {
      done.add(identity(d));
    }
  }

  /** A message by partition, offset and payload (an offset may be reused, see the class doc). */
  private static String identity(Delivery d) {
    return d.partition()
        + "/"
        + d.offset()
        + "/"
        + new String(d.message().payload(), StandardCharsets.UTF_8);
  }

  private static boolean durablyHolds(byte[] json, List<Delivery> acked) throws Exception {
    ConsumerState state = JSON.readValue(json, ConsumerState.class);
    for (Delivery a : acked) {
      ConsumerState.PartitionState p = state.partitions().get(a.partition());
      if (a.offset() >= p.next()) {
        return false;
      }
      for (long[] u : p.unacked()) {
        if (u[0] == a.offset()) {
          return false;
        }
      }
    }
    return true;
  }

  private static void check(long seed, Broker broker, Model model, List<String> problems) {
    for (Map.Entry<String, Integer> s : model.streams.entrySet()) {
      try {
        int partitions = broker.streamInfo(s.getKey()).partitions().size();
        if (partitions != s.getValue()) {
          problems.add("seed " + seed + ": stream " + s.getKey() + " has " + partitions);
        }
      } catch (RuntimeException e) {
        problems.add("seed " + seed + ": acknowledged stream " + s.getKey() + " lost: " + e);
        return;
      }
    }
    for (Stored m : model.published) {
      String found;
      try {
        found = payloadAt(broker, m.stream(), m.partition(), m.offset());
      } catch (RuntimeException e) {
        found = "unreadable: " + e;
      }
      if (!m.payload().equals(found)) {
        problems.add(
            "seed " + seed + ": acknowledged " + m + " lost after power loss, found " + found);
        return;
      }
    }
    for (Map.Entry<String, List<String>> d : model.delayed.entrySet()) {
      long waiting = broker.delayedCount(d.getKey());
      if (waiting < d.getValue().size()) {
        problems.add(
            "seed "
                + seed
                + ": "
                + d.getValue().size()
                + " delayed messages acknowledged in "
                + d.getKey()
                + " but "
                + waiting
                + " wait");
      }
    }
    List<String> bound = broker.bindings("test").stream().map(BindingSpec::name).toList();
    for (String b : model.bindings) {
      if (!bound.contains(b)) {
        problems.add("seed " + seed + ": acknowledged binding " + b + " lost");
        return;
      }
    }
    for (ConsumerKey c : model.consumers) {
      try {
        broker.consumerInfo(c.stream(), c.name());
      } catch (RuntimeException e) {
        problems.add("seed " + seed + ": acknowledged consumer " + c + " lost: " + e);
        return;
      }
    }
    var offsets = broker.groups().fetch("G", null);
    for (var e : model.committed.entrySet()) {
      var found = offsets.get(e.getKey());
      if (found == null || found.offset() < e.getValue()) {
        problems.add(
            "seed "
                + seed
                + ": acknowledged commit of "
                + e.getValue()
                + " for "
                + e.getKey()
                + " lost, found "
                + found);
        return;
      }
    }
    for (Map.Entry<ConsumerKey, Set<String>> e : model.durablyAcked.entrySet()) {
      ConsumerKey c = e.getKey();
      try {
        for (int round = 0; round < 100; round++) {
          List<Delivery> got =
              broker
                  .fetch(c.stream(), c.name(), "check", 100, 0)
                  .get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
          if (got.isEmpty()) {
            break;
          }
          for (Delivery d : got) {
            if (e.getValue().contains(identity(d))) {
              problems.add(
                  "seed " + seed + ": " + c + " redelivered durably acknowledged " + d.offset());
              return;
            }
          }
        }
      } catch (Exception ex) {
        problems.add("seed " + seed + ": fetch from " + c + " failed after reboot: " + ex);
        return;
      }
    }
  }

  private static String payloadAt(Broker broker, String stream, int partition, long offset) {
    List<RecordBatch> batches = broker.read(stream, partition, offset, 1 << 16).batches();
    for (RecordBatch b : batches) {
      for (Record r : b.records(1 << 20)) {
        if (r.offset() == offset) {
          return new String(r.valueBytes(), StandardCharsets.UTF_8);
        }
      }
    }
    return null;
  }

  /** Moves the clock past every delay and sees each acknowledged delayed message released. */
  private static void checkDelayedAreReleased(
      long seed, Broker broker, ManualClock clock, Model model, List<String> problems) {
    if (model.delayed.isEmpty()) {
      return;
    }
    clock.ms.addAndGet(300_000);
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                broker.releaseDelayed();
                return model.delayed.keySet().stream()
                    .allMatch(s -> storedPayloads(broker, s).containsAll(model.delayed.get(s)));
              });
    } catch (ConditionTimeoutException e) {
      problems.add("seed " + seed + ": acknowledged delayed messages were not all released");
    }
  }

  private static Set<String> storedPayloads(Broker broker, String stream) {
    Set<String> out = new HashSet<>();
    for (var p : broker.streamInfo(stream).partitions()) {
      long offset = p.firstOffset();
      while (offset < p.nextOffset()) {
        List<RecordBatch> batches = broker.read(stream, p.partition(), offset, 1 << 20).batches();
        if (batches.isEmpty()) {
          break;
        }
        for (RecordBatch b : batches) {
          for (Record r : b.records(1 << 20)) {
            out.add(new String(r.valueBytes(), StandardCharsets.UTF_8));
          }
          offset = b.nextOffset();
        }
      }
    }
    return out;
  }
}
