package io.switchboard.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.protocol.frame.Admin;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code switchboard bench}: drives a running server through the Java client and reports throughput
 * and latency percentiles (issue #4). Publishers, subscribers and consumers each have their own
 * connection. Confined to the command's thread, except for what it starts: one thread per
 * publisher, the clients' own threads (which only record into {@link BenchMeter}) and the progress
 * thread.
 */
@Command(
    name = "bench",
    sortOptions = false,
    description = {
      "Measure a running server: publish throughput (pub), live pub/sub end-to-end latency"
          + " (pubsub), or a shared work queue with acknowledgements (queue).",
      "Latency is measured from each message's intended send time, so a stall is not hidden"
          + " by a slower send rate (no coordinated omission).",
      "Prints a progress line on stderr every second, then a report: messages, msg/s, MB/s,"
          + " and p50, p99, p99.9 and max latency (HdrHistogram)."
    })
final class BenchCommand extends ClientCommand {
  /** The subjects bench publishes to; the stream it creates captures exactly these. */
  static final String SUBJECT_PREFIX = "bench.";

  /** The stream created when persistence is asked for without {@code --stream}. */
  static final String DEFAULT_STREAM = "BENCH";

  /** The durable consumer queue mode creates. */
  static final String CONSUMER = "bench";

  /**
   * Unacknowledged deliveries per queue consumer: the broker's default maxAckPending, enough to
   * keep a loopback connection busy.
   */
  static final int CONSUMER_CREDITS = 1000;

  /** Subjects per publisher when the stream has partitions to spread over (by subject hash). */
  static final int SUBJECTS_PER_PUBLISHER = 64;

  /** A run without {@code --count} or {@code --duration} lasts this long. */
  static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);

  /** How long receivers may go without a new message after publishing ended. */
  static final Duration DRAIN_IDLE = Duration.ofSeconds(10);

  /** The largest payload accepted; the server's own limit (1 MiB by default) may be lower. */
  static final int MAX_SIZE_BYTES = 64 << 20;

  @Option(
      names = "--mode",
      paramLabel = "MODE",
      defaultValue = "pub",
      description = "pub, pubsub or queue (default: ${DEFAULT-VALUE}).")
  String mode;

  @Option(
      names = "--publishers",
      paramLabel = "N",
      defaultValue = "1",
      description = "Publishing connections (default: ${DEFAULT-VALUE}).")
  int publishers;

  @Option(
      names = "--subscribers",
      paramLabel = "N",
      description = "pubsub: subscribing connections, each gets every message (default: 1).")
  Integer subscribers;

  @Option(
      names = "--consumers",
      paramLabel = "N",
      description = "queue: members of the shared consumer, one connection each (default: 1).")
  Integer consumers;

  @Option(
      names = "--size",
      paramLabel = "BYTES",
      defaultValue = "100",
      description = "Message payload size, at least 9 (default: ${DEFAULT-VALUE}).")
  int sizeBytes;

  @Option(
      names = "--rate",
      paramLabel = "MSG_PER_S",
      defaultValue = "0",
      description = "Total publish rate over all publishers; 0 = as fast as possible (default).")
  long rate;

  @Option(
      names = "--duration",
      paramLabel = "DURATION",
      converter = Durations.class,
      description = "How long to publish after the warm-up (default: 10s unless --count).")
  Duration duration;

  @Option(
      names = "--count",
      paramLabel = "N",
      description = "Publish N messages in all after the warm-up, instead of --duration.")
  Long count;

  @Option(
      names = "--warmup",
      paramLabel = "DURATION",
      converter = Durations.class,
      defaultValue = "0",
      description = "Publish this long first without measuring (default: none).")
  Duration warmup;

  @Option(
      names = "--stream",
      paramLabel = "NAME",
      description =
          "Persist: create stream NAME on subjects '"
              + SUBJECT_PREFIX
              + ">' (queue mode, --fsync and --partitions imply "
              + DEFAULT_STREAM
              + "). Without it pub and pubsub publish live only.")
  String stream;

  @Option(
      names = "--fsync",
      paramLabel = "POLICY",
      description = "The stream's fsync policy: always, interval or never (server default).")
  String fsync;

  @Option(names = "--partitions", paramLabel = "N", description = "The stream's partitions.")
  Integer partitions;

  @Option(names = "--keep", description = "Keep the stream afterwards (default: delete it).")
  boolean keep;

  @Option(
      names = "--ack",
      paramLabel = "POLICY",
      description =
          "queue: each (acknowledge every message, the default) or none (the consumer tracks"
              + " nothing).")
  String ack;

  @Option(
      names = "--no-ack",
      description =
          "pubsub: publish without acknowledgements (at most once, as core NATS publishes); a"
              + " publish is done once written to the connection.")
  boolean noAck;

  @Option(
      names = "--max-in-flight",
      paramLabel = "N",
      defaultValue = "1000",
      description = "Unacknowledged publishes per publisher (default: ${DEFAULT-VALUE}).")
  int maxInFlight;

  private BenchMode benchMode;
  private String streamName;
  private boolean ackEach;

  /** What bench measures. */
  enum BenchMode {
    PUB,
    PUBSUB,
    QUEUE
  }

  @Override
  void validate() {
    benchMode = BenchMode.valueOf(choice("--mode", mode, "pub", "pubsub", "queue").toUpperCase());
    positive("--publishers", publishers);
    if (subscribers != null) {
      if (benchMode != BenchMode.PUBSUB) {
        throw usage("--subscribers is for --mode pubsub (use --consumers for queue)");
      }
      positive("--subscribers", subscribers);
    }
    if (consumers != null) {
      if (benchMode != BenchMode.QUEUE) {
        throw usage("--consumers is for --mode queue (use --subscribers for pubsub)");
      }
      positive("--consumers", consumers);
    }
    if (ack != null && benchMode != BenchMode.QUEUE) {
      throw usage("--ack is for --mode queue");
    }
    ackEach = ack == null || choice("--ack", ack, "each", "none").equals("each");
    if (noAck && benchMode != BenchMode.PUBSUB) {
      throw usage("--no-ack is for --mode pubsub (pub and queue measure acknowledged publishes)");
    }
    if (sizeBytes < BenchMeter.HEADER_BYTES || sizeBytes > MAX_SIZE_BYTES) {
      throw usage(
          "--size must be in ["
              + BenchMeter.HEADER_BYTES
              + ", "
              + MAX_SIZE_BYTES
              + "]: each message carries its send time (got "
              + sizeBytes
              + ")");
    }
    if (rate < 0) {
      throw usage("--rate must be 0 (as fast as possible) or more (got " + rate + ")");
    }
    if (count != null && duration != null) {
      throw usage("give --count or --duration, not both");
    }
    if (count != null && count < 1) {
      throw usage("--count must be at least 1 (got " + count + ")");
    }
    if (duration != null && duration.isZero()) {
      throw usage("--duration must be more than 0");
    }
    if (maxInFlight < 1 || maxInFlight > 65_536) {
      throw usage("--max-in-flight must be in [1, 65536] (got " + maxInFlight + ")");
    }
    if (partitions != null) {
      positive("--partitions", partitions);
    }
    if (fsync != null) {
      fsync = choice("--fsync", fsync, "always", "interval", "never");
    }
    boolean persist =
        stream != null || fsync != null || partitions != null || benchMode == BenchMode.QUEUE;
    streamName = persist ? (stream == null ? DEFAULT_STREAM : stream) : null;
    if (keep && streamName == null) {
      throw usage("--keep needs a stream (--stream, --fsync, --partitions or --mode queue)");
    }
  }

  @Override
  int run(SwitchboardClient admin) throws Exception {
    BenchMeter meter = new BenchMeter();
    boolean created = false;
    List<SwitchboardClient> clients = new ArrayList<>();
    try {
      if (streamName != null) {
        admin.admin(Admin.Op.STREAM_CREATE, streamConfig().toString());
        created = true;
        if (benchMode == BenchMode.QUEUE) {
          admin.admin(Admin.Op.CONSUMER_CREATE, consumerConfig().toString());
        }
      }
      BenchRun run = new BenchRun(meter, clients);
      run.startReceivers();
      BenchReport report = run.publishAndDrain();
      if (json) {
        output().line(report.toJson().toString());
      } else {
        report.print(out());
      }
      return exitCode(report, run.failure.get(), admin);
    } finally {
      for (SwitchboardClient c : clients) {
        c.close();
      }
      if (created && !keep) {
        deleteStream(admin);
      }
    }
  }

  private int exitCode(BenchReport report, Throwable failure, SwitchboardClient admin) {
    if (failure != null) {
      return failed(toClientException(failure), admin);
    }
    if (report.missing() > 0) {
      err()
          .println(
              "error: "
                  + report.missing()
                  + " messages not received (nothing arrived for "
                  + Durations.format(DRAIN_IDLE)
                  + ")");
      return ExitCodes.TIMEOUT;
    }
    return ExitCodes.OK;
  }

  private void deleteStream(SwitchboardClient admin) {
    try {
      ObjectNode body = Output.JSON.createObjectNode().put("name", streamName);
      admin.admin(Admin.Op.STREAM_DELETE, body.toString());
    } catch (SwitchboardClientException e) {
      err().println("warning: could not delete stream " + streamName + ": " + describe(e));
    }
  }

  ObjectNode streamConfig() {
    ObjectNode body = Output.JSON.createObjectNode();
    body.put("name", streamName);
    body.putArray("subjects").add(SUBJECT_PREFIX + ">");
    if (benchMode == BenchMode.QUEUE) {
      body.put("retention", "work_queue");
    }
    if (partitions != null) {
      body.put("partitions", partitions);
    }
    if (fsync != null) {
      body.put("fsync", fsync);
    }
    return body;
  }

  ObjectNode consumerConfig() {
    ObjectNode config = Output.JSON.createObjectNode();
    config.put("name", CONSUMER);
    config.put("mode", "shared");
    config.put("start", "earliest");
    config.put("ackPolicy", ackEach ? "each" : "none");
    config.put("maxAckPending", CONSUMER_CREDITS * consumerCount());
    ObjectNode body = Output.JSON.createObjectNode();
    body.put("stream", streamName);
    body.set("config", config);
    return body;
  }

  int subscriberCount() {
    return benchMode == BenchMode.PUBSUB ? (subscribers == null ? 1 : subscribers) : 0;
  }

  int consumerCount() {
    return benchMode == BenchMode.QUEUE ? (consumers == null ? 1 : consumers) : 0;
  }

  /** One connection of the run, named so the server's logs tell them apart. */
  SwitchboardClient connect(String role, int index) {
    ClientOptions options =
        ClientOptions.parse(serverAddress())
            .withClientName("switchboard-bench-" + role + "-" + index)
            // A benchmark that silently reconnected would measure the reconnect: fail instead.
            .withReconnect(false);
    return SwitchboardClient.connect(withSecurity(options));
  }

  private String choice(String option, String value, String... allowed) {
    String v = value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
    for (String a : allowed) {
      if (a.equals(v)) {
        return v;
      }
    }
    throw usage(
        "Invalid value for option '"
            + option
            + "': '"
            + value
            + "' is not one of "
            + String.join(", ", allowed));
  }

  private void positive(String option, int value) {
    if (value < 1) {
      throw usage(option + " must be at least 1 (got " + value + ")");
    }
  }

  /**
   * One run: the receivers' and publishers' connections, the publishing threads and the progress
   * thread. Confined to the command's thread, like the command.
   */
  private final class BenchRun {
    final BenchMeter meter;
    final List<SwitchboardClient> clients;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final BenchReceivers receivers;

    BenchRun(BenchMeter meter, List<SwitchboardClient> clients) {
      this.meter = meter;
      this.clients = clients;
      this.receivers = new BenchReceivers(meter, failure, stop);
    }

    void startReceivers() {
      for (int i = 0; i < subscriberCount(); i++) {
        SwitchboardClient c = connect("sub", i);
        clients.add(c);
        receivers.subscribe(c, SUBJECT_PREFIX + ">");
      }
      for (int i = 0; i < consumerCount(); i++) {
        SwitchboardClient c = connect("consumer", i);
        clients.add(c);
        receivers.consume(c, streamName, CONSUMER, "bench-" + i, CONSUMER_CREDITS, ackEach);
      }
    }

    BenchReport publishAndDrain() throws InterruptedException {
      List<SwitchboardClient> pubClients = new ArrayList<>();
      for (int i = 0; i < publishers; i++) {
        SwitchboardClient c = connect("pub", i);
        clients.add(c);
        pubClients.add(c);
      }
      // Publishers start together a little from now, so their schedules line up.
      long firstNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
      long warmupEndNs = firstNs + warmup.toNanos();
      long endNs =
          count != null
              ? Long.MAX_VALUE
              : warmupEndNs + (duration == null ? DEFAULT_DURATION : duration).toNanos();
      long periodNs = rate == 0 ? 0 : Math.max(1, Math.round(1e9 * publishers / rate));
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < publishers; i++) {
        long share =
            count == null ? Long.MAX_VALUE : count / publishers + (i < count % publishers ? 1 : 0);
        BenchPublisher.Plan plan =
            new BenchPublisher.Plan(
                subjects(i),
                sizeBytes,
                firstNs + (periodNs * i) / publishers,
                periodNs,
                warmupEndNs,
                endNs,
                share,
                maxInFlight,
                noAck);
        threads.add(
            Thread.ofPlatform()
                .name("bench-publisher-" + i)
                .start(new BenchPublisher(pubClients.get(i), plan, meter, stop, failure)));
      }
      BenchProgress progress =
          new BenchProgress(meter, benchMode != BenchMode.PUB, warmupEndNs, sizeBytes, err());
      ScheduledExecutorService ticker =
          Executors.newSingleThreadScheduledExecutor(
              r -> Thread.ofPlatform().daemon().name("bench-progress").unstarted(r));
      ticker.scheduleAtFixedRate(() -> progress.tick(!json), 1, 1, TimeUnit.SECONDS);
      try {
        for (Thread t : threads) {
          t.join();
        }
        receivers.drain(expectedReceipts(), DRAIN_IDLE);
      } finally {
        receivers.close();
        ticker.shutdownNow();
        if (!ticker.awaitTermination(5, TimeUnit.SECONDS)) {
          err().println("warning: the progress thread did not stop");
        }
      }
      meter.harvest();
      return new BenchReport(
          BenchCommand.this, meter, receivers.dropped(), expectedReceipts(), warmupEndNs);
    }

    /** Receipts that account for every acknowledged publish. */
    long expectedReceipts() {
      long acked = meter.acked.sum();
      return switch (benchMode) {
        case PUB -> 0;
        case PUBSUB -> acked * subscriberCount();
        case QUEUE -> acked;
      };
    }

    private String[] subjects(int publisher) {
      int n = partitions != null && partitions > 1 ? SUBJECTS_PER_PUBLISHER : 1;
      String[] subjects = new String[n];
      for (int i = 0; i < n; i++) {
        subjects[i] = SUBJECT_PREFIX + publisher + (n == 1 ? "" : "." + i);
      }
      return subjects;
    }
  }

  BenchMode benchMode() {
    return benchMode;
  }

  String streamName() {
    return streamName;
  }

  boolean ackEach() {
    return ackEach;
  }
}
