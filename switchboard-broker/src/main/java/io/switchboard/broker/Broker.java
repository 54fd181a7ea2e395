package io.switchboard.broker;

import static io.switchboard.core.Futures.completeOn;

import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.consumer.ConsumerManager;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.schema.SchemaRegistry;
import io.switchboard.broker.schema.SchemaRegistryConfig;
import io.switchboard.broker.schema.SchemaValidator;
import io.switchboard.broker.stream.AgentRunner;
import io.switchboard.broker.stream.DelayStore;
import io.switchboard.broker.stream.Discard;
import io.switchboard.broker.stream.Durability;
import io.switchboard.broker.stream.PartitionAgent;
import io.switchboard.broker.stream.PartitionReader;
import io.switchboard.broker.stream.ProducerInfo;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamCatalog;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.broker.stream.StreamSchema;
import io.switchboard.core.Blocking;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.Subjects;
import io.switchboard.log.LogConfig;
import io.switchboard.log.LogFlusher;
import io.switchboard.log.LogMaintenance;
import io.switchboard.log.LogReadResult;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker engine: streams and their partitions, live subscriptions and request/reply, behind one
 * protocol-agnostic API that every front end translates to.
 *
 * <p>Thread safety: thread-safe. {@link #publish} and reads take no broker lock: they look the
 * stream up in a concurrent map and post to the partition's owner agent. Stream administration
 * (create, update, delete) serializes on the broker.
 *
 * <p>On disk: {@code <dataDir>/streams.json} (the {@link StreamCatalog}) and one log per partition
 * in {@code <dataDir>/streams/<name>/<partition>/} (see {@link PartitionLog}).
 */
public final class Broker implements AutoCloseable {
  /**
   * 50 ms between consumer state writes: the window of acknowledgements a crash can undo (they are
   * redelivered), against one small fsync'd write per consumer per interval while it is busy. (1 s
   * was tried on 2026-12-03 to cut the journal commits these cause and reverted: a worker killed
   * within a second of its first delivery then never saved its cursor, which ConsumerCrashTest
   * requires; a lower rate needs a write when the consumer goes quiet too.)
   */
  static final long CONSUMER_STATE_INTERVAL_MS = 50;

  /**
   * 100 ms: how long an acknowledged work-queue message may stay visible before it goes. A trim
   * only moves the log start in memory; the log's flusher checkpoints it once per fsync interval.
   */
  static final long WORK_QUEUE_TRIM_MS = 100;

  private static final Logger LOG = LoggerFactory.getLogger(Broker.class);

  /** Headroom for record and batch headers above the largest message a stream accepts. */
  private static final int BATCH_HEADROOM_BYTES = 64 * 1024;

  /**
   * 1 hour: segments of a stream with a per-subject limit roll at least this often, so compaction
   * can remove a subject's surplus within about that long.
   */
  static final long PER_SUBJECT_SEGMENT_MS = 3_600_000;

  /**
   * A running stream. {@code home} runs its first partition, and its consumers with it: an append
   * then reaches a consumer on the same thread, in the same pass, rather than by waking another.
   */
  private record StreamRuntime(
      StreamConfig config, PartitionAgent[] agents, DelayStore delays, AgentRunner home) {}

  /** 50 ms between delayed-delivery passes: how late past its time a delayed message may be. */
  static final long DELAY_TICK_MS = 50;

  private final BrokerConfig config;
  private final Clock clock;

  /** Streams and consumer-name prefixes the server owns, with their owners' names. */
  private final Map<String, String> ownedStreams = new ConcurrentHashMap<>();

  private final Map<String, String> ownedConsumerPrefixes = new ConcurrentHashMap<>();
  private final StreamCatalog catalog;
  private final LiveBus live;
  private final AgentRunner[] runners;
  private final LogFlusher flusher;
  private final LogMaintenance maintenance;
  private final ConsumerManager consumers;
  private final ScheduledExecutorService workQueueTrimmer;
  private final ScheduledExecutorService delayTicker;

  /** Tail reads: logs read on virtual threads, deadlines on one timer thread. */
  private final java.util.concurrent.ExecutorService readers;

  private final ScheduledExecutorService tailTimer;
  private final TailReader tails;
  private final Map<String, StreamRuntime> streams = new ConcurrentHashMap<>();
  private final Bindings bindings = new Bindings();
  private final BindingStore bindingStore;
  private final SchemaRegistry schemas;
  private final SchemaValidator schemaCheck;
  private int nextRunner;
  private long nextTrimMs;
  private volatile boolean closed;

  /** Consumer groups' generations and offsets; set by {@link #open}. */
  private volatile io.switchboard.broker.group.GroupCoordinator groupCoordinator;

  private Broker(BrokerConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
    this.catalog =
        StreamCatalog.open(config.dataDir(), config.storage(), config.maxStreamSubjects());
    this.live = new LiveBus(config.live(), clock);
    // Restored before anything can publish (the delay ticker below, front ends after open).
    this.bindingStore = openBindings();
    this.schemas =
        SchemaRegistry.open(
            config.storage(),
            config.dataDir().resolve(SchemaRegistry.DIR),
            SchemaRegistryConfig.DEFAULTS);
    this.schemaCheck = new SchemaValidator(schemas);
    this.runners = new AgentRunner[config.runnerThreads()];
    for (int i = 0; i < runners.length; i++) {
      runners[i] = invoker() ? AgentRunner.invoker() : new AgentRunner("sb-partition-" + i);
    }
    this.flusher =
        invoker() ? LogFlusher.manual() : LogFlusher.start("sb-flush", config.flusherThreads());
    this.maintenance = new LogMaintenance(config.maintenancePeriodMs());
    this.consumers =
        new ConsumerManager(
            clock,
            config.storage(),
            CONSUMER_STATE_INTERVAL_MS,
            m -> publish(m, PublishOptions.NONE));
    this.workQueueTrimmer =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("sb-work-queue").unstarted(r));
    if (!invoker()) {
      workQueueTrimmer.scheduleWithFixedDelay(
          this::trimWorkQueues, WORK_QUEUE_TRIM_MS, WORK_QUEUE_TRIM_MS, TimeUnit.MILLISECONDS);
    }
    this.nextTrimMs = clock.nowMs() + WORK_QUEUE_TRIM_MS;
    this.readers =
        Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("sb-read-", 0).factory());
    this.tailTimer =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("sb-tail-timer").unstarted(r));
    this.tails = new TailReader(readers, tailTimer);
    this.delayTicker =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("sb-delayed").unstarted(r));
    delayTicker.scheduleWithFixedDelay(
        this::releaseDelayed, DELAY_TICK_MS, DELAY_TICK_MS, TimeUnit.MILLISECONDS);
  }

  private boolean invoker() {
    return config.threading() == ThreadingMode.INVOKER;
  }

  /**
   * One duty cycle of everything {@link ThreadingMode#INVOKER} leaves to the caller: a pass of each
   * runner over its agents, a flush pass over the partition logs, and work-queue trimming once its
   * period has passed on the broker's clock. Call from one thread at a time.
   *
   * @return the work done; 0 when idle
   * @throws IllegalStateException when the broker runs {@link ThreadingMode#DEDICATED}
   */
  public int doWork() {
    if (!invoker()) {
      throw new IllegalStateException("the broker runs its own threads (ThreadingMode.DEDICATED)");
    }
    int work = 0;
    for (AgentRunner r : runners) {
      work += r.doWork();
    }
    work += flusher.doWork();
    long now = clock.nowMs();
    if (now >= nextTrimMs) {
      nextTrimMs = now + WORK_QUEUE_TRIM_MS;
      trimWorkQueues();
      work++;
    }
    return work;
  }

  /** One delayed-delivery pass over every stream (the delay thread; tests call it directly). */
  int releaseDelayed() {
    int work = 0;
    for (StreamRuntime rt : streams.values()) {
      work += rt.delays().tick();
    }
    return work;
  }

  /**
   * Work-queue retention: removes from each work-queue partition what every consumer has
   * acknowledged, by moving the log start to their lowest ack floor. A partition without consumers
   * keeps everything: its messages wait for one. Runs on its own thread.
   */
  void trimWorkQueues() {
    for (StreamRuntime rt : streams.values()) {
      if (rt.config().retention() != Retention.WORK_QUEUE) {
        continue;
      }
      for (PartitionAgent a : rt.agents()) {
        long floor = consumers.lowestAckFloor(rt.config().name(), a.partition());
        PartitionLog log = a.log();
        if (floor > log.logStartOffset()) {
          try {
            // In memory now; the log's flusher checkpoints the start with its next interval pass
            // (a crash before it brings acknowledged messages back, it loses none), and sealed
            // segments wholly below it go here, the checkpoint written first.
            if (log.advanceLogStart(Math.min(floor, log.logEndOffset()))) {
              log.enforceRetention();
            }
          } catch (SwitchboardException e) {
            // Closed by a concurrent stream update or delete: the next pass sees the new state.
            LOG.debug("work-queue trim of {} skipped: {}", a, e.getMessage());
          }
        }
      }
    }
  }

  /** Opens the broker in {@code config.dataDir()}, recovering every stream it holds. */
  public static Broker open(BrokerConfig config, Clock clock) {
    Broker broker = new Broker(config, clock);
    try {
      broker.openGroups();
      for (StreamConfig s : broker.catalog.list()) {
        broker.start(s);
        broker.consumers.load(
            s.name(),
            broker.streamDir(s.name()),
            broker.logs(s.name()),
            broker.consumerRunner(s.name()));
      }
    } catch (RuntimeException e) {
      broker.close();
      throw e;
    }
    return broker;
  }

  // ------------------------------------------------------------------ streams

  /**
   * Creates a stream and opens its partitions.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_EXISTS}, {@link
   *     ErrorCode#STREAM_SUBJECTS_OVERLAP}, {@link ErrorCode#INVALID_CONFIG} for settings not
   *     supported yet
   */
  public synchronized StreamInfo createStream(StreamConfig stream) {
    Blocking.check("Broker.createStream");
    ensureOpen();
    catalog.create(stream);
    start(stream);
    return streamInfo(stream.name());
  }

  /**
   * Changes a stream's settings; its partitions are reopened with them (publishes queued at that
   * moment fail with {@link ErrorCode#PARTITION_CLOSED}, which is retriable).
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#STREAM_UPDATE_NOT_ALLOWED}, {@link ErrorCode#STREAM_SUBJECTS_OVERLAP}
   */
  public synchronized StreamInfo updateStream(StreamConfig stream) {
    Blocking.check("Broker.updateStream");
    ensureOpen();
    refuseOwnedStream(stream.name(), "updated");
    catalog.update(stream);
    consumers.stopStream(stream.name());
    stop(streams.remove(stream.name()));
    start(stream);
    consumers.load(
        stream.name(),
        streamDir(stream.name()),
        logs(stream.name()),
        consumerRunner(stream.name()));
    return streamInfo(stream.name());
  }

  /**
   * Deletes a stream and its data.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}
   */
  public synchronized void deleteStream(String name) {
    Blocking.check("Broker.deleteStream");
    ensureOpen();
    refuseOwnedStream(name, "deleted");
    catalog.delete(name);
    unbindStream(name);
    consumers.stopStream(name);
    consumers.flush();
    stop(streams.remove(name));
    deleteTree(streamDir(name));
  }

  /**
   * A stream's definition alone: a map look-up, unlike {@link #streamInfo}, which also sizes every
   * partition on disk. For per-request checks on hot paths (a Kafka produce).
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}
   */
  public StreamConfig streamConfig(String name) {
    return runtime(name).config();
  }

  /**
   * A stream's definition and partition state.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}
   */
  public StreamInfo streamInfo(String name) {
    StreamRuntime rt = runtime(name);
    List<StreamInfo.PartitionInfo> parts = new ArrayList<>();
    for (PartitionAgent a : rt.agents()) {
      PartitionLog log = a.log();
      parts.add(
          new StreamInfo.PartitionInfo(
              a.partition(), log.logStartOffset(), log.logEndOffset(), log.sizeInBytes()));
    }
    return new StreamInfo(rt.config(), parts);
  }

  /** Every stream's definition, by name: a look at the catalog, without sizing partitions. */
  public List<StreamConfig> streamConfigs() {
    return catalog.list();
  }

  /** Every stream, by name. */
  public List<StreamInfo> listStreams() {
    return catalog.list().stream().map(s -> streamInfo(s.name())).toList();
  }

  private void start(StreamConfig stream) {
    PartitionAgent[] agents = new PartitionAgent[stream.partitions()];
    try {
      for (int p = 0; p < agents.length; p++) {
        PartitionLog log =
            PartitionLog.open(
                streamDir(stream.name()).resolve(Integer.toString(p)),
                logConfig(stream),
                new PartitionLog.Options(config.storage(), clock, false, flusher));
        agents[p] =
            new PartitionAgent(stream.name(), p, log, stream, clock, config.partitionQueue());
      }
    } catch (RuntimeException e) {
      for (PartitionAgent a : agents) {
        if (a != null) {
          a.close();
        }
      }
      throw e;
    }
    DelayStore delays;
    try {
      delays =
          DelayStore.open(
              stream.name(),
              streamDir(stream.name()).resolve("delayed"),
              stream.fsync(),
              stream.maxMessageBytes(),
              logConfig(stream).maxBatchBytes(),
              config.storage(),
              clock,
              (m, id) -> publish(m, new PublishOptions(stream.name(), id), false));
    } catch (RuntimeException e) {
      for (PartitionAgent a : agents) {
        a.close();
      }
      throw e;
    }
    AgentRunner home = null;
    for (PartitionAgent a : agents) {
      AgentRunner r = nextRunner();
      home = home == null ? r : home;
      r.add(a);
      maintenance.register(a.log());
    }
    streams.put(stream.name(), new StreamRuntime(stream, agents, delays, home));
  }

  private void stop(StreamRuntime rt) {
    if (rt == null) {
      return;
    }
    rt.delays().close();
    for (PartitionAgent a : rt.agents()) {
      for (AgentRunner r : runners) {
        r.remove(a);
      }
      maintenance.unregister(a.log());
      tails.closed(a.log());
      a.close();
    }
  }

  /** The log settings that carry out a stream's limits on each of its partitions. */
  static LogConfig logConfig(StreamConfig s) {
    LogConfig c =
        LogConfig.defaults(s.fsync())
            .withMaxBatchBytes(256 * 1024 + s.maxMessageBytes() + BATCH_HEADROOM_BYTES);
    if (s.discard() == Discard.DROP_OLDEST) {
      long perPartitionBytes =
          s.maxBytes() < 0 ? -1 : Math.max(1, (s.maxBytes() + s.partitions() - 1) / s.partitions());
      c = c.withRetention(s.maxAgeMs(), perPartitionBytes);
    } else {
      c = c.withRetention(s.maxAgeMs(), -1);
    }
    if (s.retention() == Retention.COMPACTED) {
      c =
          c.withCompaction(
              LogConfig.DEFAULT_DELETE_RETENTION_MS, LogConfig.DEFAULT_COMPACTION_MAX_KEYS);
    }
    if (s.maxMessagesPerSubject() > 0) {
      // Compaction only cleans sealed segments: rolling hourly bounds how long a subject can
      // hold more than its limit.
      c =
          c.withMaxRecordsPerSubject(s.maxMessagesPerSubject())
              .withSegmentMs(Math.min(c.segmentMs(), PER_SUBJECT_SEGMENT_MS));
    }
    return c;
  }

  /**
   * Where a stream's consumers run: with its first partition (see {@link StreamRuntime}). Measured
   * against spreading them over the runners: end-to-end p50 0.61/0.64 ms vs 1.99/0.78 ms at 5,000
   * msg/s (docs/benchmarks.md, 2026-12-03).
   */
  private AgentRunner consumerRunner(String stream) {
    return runtime(stream).home();
  }

  private AgentRunner nextRunner() {
    return runners[nextRunner++ % runners.length];
  }

  private List<PartitionLog> logs(String stream) {
    List<PartitionLog> logs = new ArrayList<>();
    for (PartitionAgent a : runtime(stream).agents()) {
      logs.add(a.log());
    }
    return logs;
  }

  // ------------------------------------------------------------------ what the server owns

  /**
   * Declares {@code stream} the server's own, kept by {@code owner} (say "MQTT sessions"): from now
   * on it cannot be updated or deleted, nor its consumers created or deleted, through the admin
   * calls every front end serves ({@link ErrorCode#STREAM_RESERVED}, {@link
   * ErrorCode#CONSUMER_RESERVED}); the owner manages its consumers through {@link
   * #createOwnedConsumer} and {@link #deleteOwnedConsumer}. Ownership lives as long as the broker
   * runs: owners declare it again at each start, before they re-create what is missing.
   */
  public void ownStream(String stream, String owner) {
    ownedStreams.put(stream, owner);
  }

  /**
   * Declares every consumer whose name starts with {@code namePrefix}, on any stream, the server's
   * own, kept by {@code owner} (see {@link #ownStream}).
   */
  public void ownConsumers(String namePrefix, String owner) {
    ownedConsumerPrefixes.put(namePrefix, owner);
  }

  /** Who owns {@code stream}, if the server does. */
  public Optional<String> streamOwner(String stream) {
    return Optional.ofNullable(ownedStreams.get(stream));
  }

  private void refuseOwnedStream(String stream, String action) {
    String owner = ownedStreams.get(stream);
    if (owner != null) {
      throw SwitchboardException.of(ErrorCode.STREAM_RESERVED, stream, owner, action);
    }
  }

  private void refuseOwnedConsumer(String stream, String consumer, String action) {
    String owner = ownedStreams.get(stream);
    if (owner == null) {
      for (Map.Entry<String, String> e : ownedConsumerPrefixes.entrySet()) {
        if (consumer.startsWith(e.getKey())) {
          owner = e.getValue();
          break;
        }
      }
    }
    if (owner != null) {
      throw SwitchboardException.of(ErrorCode.CONSUMER_RESERVED, consumer, stream, owner, action);
    }
  }

  /** {@link #createConsumer} for the owner of the stream or of the consumer's name. */
  public synchronized ConsumerInfo createOwnedConsumer(String stream, ConsumerConfig consumer) {
    Blocking.check("Broker.createOwnedConsumer");
    return create(stream, consumer);
  }

  /** {@link #deleteConsumer} for the owner of the stream or of the consumer's name. */
  public synchronized void deleteOwnedConsumer(String stream, String consumer) {
    Blocking.check("Broker.deleteOwnedConsumer");
    runtime(stream);
    consumers.delete(stream, consumer);
  }

  // ------------------------------------------------------------------ consumers

  /**
   * Creates a durable consumer on a stream.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#CONSUMER_EXISTS}, {@link ErrorCode#INVALID_CONFIG}
   */
  public synchronized ConsumerInfo createConsumer(String stream, ConsumerConfig consumer) {
    Blocking.check("Broker.createConsumer");
    refuseOwnedConsumer(stream, consumer.name(), "created");
    return create(stream, consumer);
  }

  private ConsumerInfo create(String stream, ConsumerConfig consumer) {
    ensureOpen();
    runtime(stream);
    List<Map<String, Long>> lastPerSubject = new ArrayList<>();
    for (PartitionAgent a : runtime(stream).agents()) {
      lastPerSubject.add(a.lastOffsets());
    }
    return consumers.create(
        stream, streamDir(stream), consumer, logs(stream), lastPerSubject, consumerRunner(stream));
  }

  /**
   * Deletes a consumer and its state.
   *
   * @throws SwitchboardException {@link ErrorCode#CONSUMER_NOT_FOUND}
   */
  public synchronized void deleteConsumer(String stream, String consumer) {
    Blocking.check("Broker.deleteConsumer");
    refuseOwnedConsumer(stream, consumer, "deleted");
    runtime(stream);
    consumers.delete(stream, consumer);
  }

  /**
   * A consumer's definition alone: map look-ups, no disk and no monitor, so event loops call it
   * (per-read security checks).
   *
   * @throws SwitchboardException STREAM_NOT_FOUND, CONSUMER_NOT_FOUND
   */
  public ConsumerConfig consumerConfig(String stream, String consumer) {
    runtime(stream);
    return consumers.get(stream, consumer).config();
  }

  public ConsumerInfo consumerInfo(String stream, String consumer) {
    runtime(stream);
    return consumers.info(stream, consumer);
  }

  /**
   * Where a consumer stands on one partition: every message of it below this offset is done for the
   * consumer (acknowledged, or not the consumer's to deliver); the consumer's published floor, so
   * any thread may ask.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#CONSUMER_NOT_FOUND}, {@link ErrorCode#INVALID_ARGUMENT} for a partition the
   *     consumer does not read
   */
  public long ackFloor(String stream, String consumer, int partition) {
    runtime(stream);
    io.switchboard.broker.consumer.ConsumerAgent agent = consumers.get(stream, consumer);
    try {
      return agent.ackFloor(partition);
    } catch (IndexOutOfBoundsException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "consumer "
              + consumer
              + " of stream "
              + stream
              + " does not read partition "
              + partition);
    }
  }

  public List<ConsumerInfo> listConsumers(String stream) {
    runtime(stream);
    return consumers.list(stream);
  }

  /**
   * {@link #fetch(String, String, String, int, long)} completing on {@code completeOn} (the
   * caller's event loop) rather than on the consumer's runner, so no front-end code runs there.
   */
  public CompletableFuture<List<Delivery>> fetch(
      String stream,
      String consumer,
      String member,
      int max,
      long waitMs,
      java.util.concurrent.Executor completeOn) {
    return completeOn(fetch(stream, consumer, member, max, waitMs), completeOn);
  }

  /**
   * {@link #settle(String, String, List)} completing on {@code completeOn} (the caller's event
   * loop) rather than on the consumer's runner.
   */
  public CompletableFuture<List<Boolean>> settle(
      String stream,
      String consumer,
      List<io.switchboard.broker.consumer.Settlement> entries,
      java.util.concurrent.Executor completeOn) {
    return completeOn(settle(stream, consumer, entries), completeOn);
  }

  /**
   * {@link #publish(Message, PublishOptions)} completing on {@code completeOn} (the caller's event
   * loop) rather than on the partition's runner or the log's flusher.
   */
  public CompletableFuture<PublishAck> publish(
      Message message, PublishOptions options, java.util.concurrent.Executor completeOn) {
    return completeOn(publish(message, options), completeOn);
  }

  /** Pull: up to {@code max} messages, waiting up to {@code waitMs} for the first. */
  public CompletableFuture<List<Delivery>> fetch(
      String stream, String consumer, String member, int max, long waitMs) {
    try {
      return consumers.get(stream, consumer).fetch(member, max, waitMs);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Says a member of a consumer is gone for good (see {@link ConsumerAgent#leave}); a consumer that
   * no longer exists has nothing to release, which completes with false.
   */
  public CompletableFuture<Boolean> leave(String stream, String consumer, String member) {
    try {
      return consumers.get(stream, consumer).leave(member);
    } catch (SwitchboardException e) {
      return CompletableFuture.completedFuture(false);
    }
  }

  /**
   * Push delivery: messages of a consumer are handed to {@code handler} as member {@code member}
   * may take them, at most {@code credits} unacknowledged at once; acknowledge through the returned
   * subscription to return credits.
   *
   * @throws SwitchboardException {@link ErrorCode#CONSUMER_NOT_FOUND}, {@link
   *     ErrorCode#INVALID_ARGUMENT} for fewer than one credit
   */
  public PushSubscription push(
      String stream, String consumer, String member, int credits, Consumer<Delivery> handler) {
    ensureOpen();
    return consumers.get(stream, consumer).push(member, credits, handler);
  }

  /** {@link #push} handing over each duty cycle's deliveries for the member at once. */
  public PushSubscription pushBatches(
      String stream,
      String consumer,
      String member,
      int credits,
      Consumer<List<Delivery>> handler) {
    ensureOpen();
    return consumers.get(stream, consumer).pushBatches(member, credits, handler);
  }

  /**
   * Settles many deliveries of one consumer in one hand-over (see {@link ConsumerAgent#settle}):
   * each entry's result in order.
   */
  public CompletableFuture<List<Boolean>> settle(
      String stream, String consumer, List<io.switchboard.broker.consumer.Settlement> entries) {
    try {
      return consumers.get(stream, consumer).settle(entries);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Acknowledges a delivery; true when it was still unacknowledged. */
  public CompletableFuture<Boolean> ack(
      String stream, String consumer, int partition, long offset) {
    try {
      return consumers.get(stream, consumer).ack(partition, offset);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Gives delivery number {@code deliveryCount} back: redelivered after {@code delayMs} (negative:
   * the back-off). False when that delivery is no longer the live one.
   */
  public CompletableFuture<Boolean> nack(
      String stream,
      String consumer,
      int partition,
      long offset,
      int deliveryCount,
      long delayMs,
      String error) {
    try {
      return consumers.get(stream, consumer).nack(partition, offset, deliveryCount, delayMs, error);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Restarts the ack deadline of delivery number {@code deliveryCount}. */
  public CompletableFuture<Boolean> inProgress(
      String stream, String consumer, int partition, long offset, int deliveryCount) {
    try {
      return consumers.get(stream, consumer).inProgress(partition, offset, deliveryCount);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Acknowledges every delivery of a consumer to {@code member} made no later than delivery number
   * {@code sequence} ({@link Delivery#sequence()}), in one command: AMQP's {@code basic.ack
   * multiple=true} (see {@link ConsumerAgent#ackUpTo}). Completes with how many were acknowledged.
   */
  public CompletableFuture<Integer> ackUpTo(
      String stream, String consumer, String member, long sequence) {
    try {
      return consumers.get(stream, consumer).ackUpTo(member, sequence);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private Path streamDir(String name) {
    return config.dataDir().resolve("streams").resolve(name);
  }

  private StreamRuntime runtime(String name) {
    StreamRuntime rt = streams.get(name);
    if (rt == null) {
      throw SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, name);
    }
    return rt;
  }

  // ------------------------------------------------------------------ publish and read

  /**
   * Publishes: delivered to live subscribers at once, and persisted when a stream captures the
   * subject. The future completes with where it was stored and how durably ({@link
   * Durability#MEMORY} with stream {@code null} when no stream captures it). A message with a
   * {@link DelayStore#DELIVER_AT_HEADER} or {@link DelayStore#DELAY_HEADER} in the future is kept
   * in its stream's delay store instead and published when due (the acknowledgement says {@link
   * PublishAck#delayed()}).
   *
   * <p>Fails with {@link ErrorCode#INVALID_SUBJECT}, {@link ErrorCode#STREAM_MISMATCH}, {@link
   * ErrorCode#MESSAGE_TOO_LARGE}, {@link ErrorCode#PUBLISH_BACKPRESSURE}, {@link
   * ErrorCode#BROKER_CLOSED}, {@link ErrorCode#INVALID_DELAY}, or the storage's error; for a stream
   * that requires a schema ({@link StreamSchema}), before any live delivery, {@link
   * ErrorCode#SCHEMA_REQUIRED}, {@link ErrorCode#SCHEMA_ID_UNKNOWN}, {@link
   * ErrorCode#SCHEMA_SUBJECT_MISMATCH} or {@link ErrorCode#SCHEMA_PAYLOAD_INVALID}.
   */
  public CompletableFuture<PublishAck> publish(Message message, PublishOptions options) {
    return publish(message, options, true);
  }

  /**
   * @param mayDelay false for a release from the delay store, which is never delayed again
   */
  private CompletableFuture<PublishAck> publish(
      Message message, PublishOptions options, boolean mayDelay) {
    try {
      ensureOpen();
      Subjects.validateSubject(message.subject(), config.live().subjects());
      String captured = catalog.streamFor(message.subject()).orElse(null);
      if (options.expectedStream() != null && !options.expectedStream().equals(captured)) {
        throw SwitchboardException.of(
            ErrorCode.STREAM_MISMATCH,
            message.subject(),
            captured == null ? "no stream" : "stream \"" + captured + "\"",
            options.expectedStream());
      }
      if (captured != null) {
        checkSchema(captured, message); // before anyone sees it, live or stored
      }
      long due = mayDelay ? DelayStore.dueTime(message, clock.nowMs()) : -1;
      if (due > 0) {
        return publishDelayed(message, options, captured, due);
      }
      live.publish(message);
      List<Bindings.Copy> copies = bindings.copies(message);
      CompletableFuture<PublishAck> own;
      if (captured == null) {
        own =
            CompletableFuture.completedFuture(
                new PublishAck(null, -1, -1, Durability.MEMORY, false));
      } else {
        StreamRuntime rt = runtime(captured);
        PartitionAgent agent = rt.agents()[partitionOf(message, rt.agents().length)];
        own =
            agent.publish(
                message,
                options.messageId(),
                options.expectedLastSubjectOffset(),
                options.producer());
      }
      if (copies.isEmpty()) {
        return own;
      }
      CompletableFuture<?>[] all = new CompletableFuture<?>[copies.size() + 1];
      all[0] = own;
      for (int i = 0; i < copies.size(); i++) {
        Bindings.Copy copy = copies.get(i);
        // A retried idempotent publish makes no second copy either.
        String copyId =
            options.messageId() == null
                ? null
                : options.messageId() + '@' + copy.message().subject();
        all[i + 1] = storeCopy(copy, copyId);
      }
      return CompletableFuture.allOf(all).thenCompose(ignored -> own);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Stores a binding's copy: in its stream only (no live delivery, no further bindings), by name,
   * and nowhere when that stream is gone.
   */
  private CompletableFuture<PublishAck> storeCopy(Bindings.Copy c, String messageId) {
    Message copy = c.message();
    try {
      Subjects.validateSubject(copy.subject(), config.live().subjects());
      StreamRuntime rt = streams.get(c.stream());
      if (rt == null) {
        return CompletableFuture.completedFuture(null); // deleted meanwhile (see unbindStream)
      }
      checkSchema(rt, c.stream(), copy); // a bound stream's schema holds for its copies too
      PartitionAgent agent = rt.agents()[partitionOf(copy, rt.agents().length)];
      return agent.publish(copy, messageId, PartitionAgent.NO_EXPECTATION, null);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** How many durable bindings exist. */
  public int bindingCount() {
    return bindings.size();
  }

  /** Opens the binding store and puts what it holds in force (the constructor). */
  private BindingStore openBindings() {
    BindingStore store =
        BindingStore.open(
            config.storage(),
            config.dataDir(),
            Bindings.MAX_BINDINGS,
            change -> {
              if (change.spec() != null) {
                bindings.put(change.spec());
              } else {
                bindings.drop(change.owner(), change.name());
              }
            });
    for (BindingSpec spec : store.all()) {
      bindings.put(spec);
    }
    return store;
  }

  /**
   * Declares a binding (see {@link BindingSpec}), or replaces the one with its owner and name: from
   * now on every message published on a matching subject (by any protocol, including releases from
   * a delay store) is copied into its stream as part of the publish, and the publish is
   * acknowledged only once the copies are stored too. Copies are not delivered live and not bound
   * again. The binding is stored in the data directory, crash-safely, and restored when the broker
   * opens: the future completes, on {@code completeOn}, once it is on disk and in force. A stream
   * deleted later takes its bindings with it.
   *
   * <p>Fails with {@link ErrorCode#INVALID_BINDING}, {@link ErrorCode#INVALID_PATTERN}, {@link
   * ErrorCode#INVALID_SUBJECT} for a bad copy subject, {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   * ErrorCode#TOO_MANY_BINDINGS} past {@value Bindings#MAX_BINDINGS}, {@link
   * ErrorCode#BINDING_BACKPRESSURE}, {@link ErrorCode#BROKER_CLOSED}, or the disk's error.
   */
  public CompletableFuture<Void> bindDurable(
      BindingSpec spec, java.util.concurrent.Executor completeOn) {
    try {
      ensureOpen();
      Subjects.validatePattern(spec.pattern(), config.live().subjects());
      Subjects.validateSubject(
          spec.fixedSubject() != null ? spec.fixedSubject() : spec.subjectPrefix(),
          config.live().subjects());
      runtime(spec.stream());
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
    return completeOn(
        bindingStore.submit(BindingStore.Change.put(spec)).thenApply(ignored -> null), completeOn);
  }

  /**
   * Removes a declared binding, durably; completes on {@code completeOn} with false when there was
   * none. Fails with {@link ErrorCode#BINDING_BACKPRESSURE}, {@link ErrorCode#BROKER_CLOSED}, or
   * the disk's error.
   */
  public CompletableFuture<Boolean> unbind(
      String owner, String name, java.util.concurrent.Executor completeOn) {
    return completeOn(bindingStore.submit(BindingStore.Change.remove(owner, name)), completeOn);
  }

  /**
   * Sets (or, with null, removes) the filter every binding of {@code owner} passes before it copies
   * a message: for rules a subject pattern cannot say (AMQP's {@code #} between words, headers
   * exchanges). Not stored: the owner sets it again after a restart. Without one, a binding copies
   * every message its pattern matches.
   */
  public void bindingFilter(String owner, BindingFilter filter) {
    bindings.filter(owner, filter);
  }

  /** The declared bindings of {@code owner} in force (memory only: does not block). */
  public List<BindingSpec> bindings(String owner) {
    return bindings.declared(owner);
  }

  /** A deleted stream's bindings go with it (stream deletion; blocks until stored). */
  private void unbindStream(String stream) {
    List<CompletableFuture<Boolean>> removed = new ArrayList<>();
    for (BindingSpec spec : bindings.declared(null)) {
      if (spec.stream().equals(stream)) {
        removed.add(bindingStore.submit(BindingStore.Change.remove(spec.owner(), spec.name())));
      }
    }
    try {
      CompletableFuture.allOf(removed.toArray(CompletableFuture<?>[]::new)).join();
    } catch (java.util.concurrent.CompletionException e) {
      // Copies to a missing stream are skipped; the next delete or open cleans up what is left.
      LOG.warn("bindings to deleted stream {} not all removed: {}", stream, e.getCause());
    }
  }

  /**
   * Keeps a message with a future delivery time in its stream's delay store; live subscribers and
   * consumers see it when it is released.
   */
  private CompletableFuture<PublishAck> publishDelayed(
      Message message, PublishOptions options, String captured, long due) {
    if (captured == null) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_DELAY,
          message.subject(),
          "no stream captures the subject, and only a stream keeps delayed messages");
    }
    if (options.expectedLastSubjectOffset() != PartitionAgent.NO_EXPECTATION
        || options.producer() != null) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_DELAY,
          message.subject(),
          "a delay cannot be combined with an expected offset or an idempotent producer");
    }
    StreamRuntime rt = runtime(captured);
    return rt.delays()
        .add(message, options.messageId(), due, partitionOf(message, rt.agents().length));
  }

  /** Delayed messages a stream holds (see {@link DelayStore#pending()}). */
  public long delayedCount(String stream) {
    return runtime(stream).delays().pending();
  }

  /** Key hash (Kafka's murmur2) when there is a key, else the subject's. */
  static int partitionOf(Message message, int partitions) {
    if (partitions == 1) {
      return 0;
    }
    byte[] basis =
        message.key() != null ? message.key() : message.subject().getBytes(StandardCharsets.UTF_8);
    return Murmur2.partition(basis, partitions);
  }

  /**
   * Hands the messages consumers drop from their heads (expired, or past a ready limit) to {@code
   * hook} rather than letting them go: see {@link io.switchboard.broker.consumer.DropHook}. The
   * hook is called on the broker's executor, never on a runner. Null: drops go silently again.
   */
  public void dropHook(io.switchboard.broker.consumer.DropHook hook) {
    consumers.dropHook(hook, readers);
  }

  /**
   * Runs a call that may block (disk reads, admin, consumer creation: see {@link Blocking}) on the
   * broker's executor and completes on {@code completeOn}, the caller's event loop: how a front end
   * makes such a call without blocking its loop.
   */
  public <T> CompletableFuture<T> offload(
      java.util.function.Supplier<T> call, java.util.concurrent.Executor completeOn) {
    CompletableFuture<T> out = new CompletableFuture<>();
    try {
      readers.execute(
          () -> {
            T result = null;
            Throwable error = null;
            try {
              result = call.get();
            } catch (Throwable e) { // whatever it is, the caller hears of it and does not wait
              error = e;
            }
            T r = result;
            Throwable e = error;
            completeOn.execute(
                () -> {
                  if (e != null) {
                    out.completeExceptionally(e);
                  } else {
                    out.complete(r);
                  }
                });
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      out.completeExceptionally(SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    }
    return out;
  }

  /** Fsyncs of log segments so far, every stream's (for metrics). */
  public long fsyncCount() {
    return io.switchboard.log.FsyncStats.count();
  }

  /** Their total time in nanoseconds. */
  public long fsyncTotalNanos() {
    return io.switchboard.log.FsyncStats.totalNanos();
  }

  /** The longest fsync since the previous call, in nanoseconds (and resets it). */
  public long takeFsyncMaxNanos() {
    return io.switchboard.log.FsyncStats.takeMaxNanos();
  }

  /**
   * Reads one partition of a stream (see {@link PartitionLog#read}).
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#INVALID_ARGUMENT} for a partition out of range, and the log's errors
   */
  public LogReadResult read(String stream, int partition, long offset, int maxBytes) {
    Blocking.check("Broker.read");
    return partitionLog(stream, partition).read(offset, maxBytes);
  }

  /**
   * The idempotent producers a partition remembers (its producer state: id, epoch, last sequence,
   * last timestamp), answered by the partition's owner without blocking the caller.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#INVALID_ARGUMENT} for a partition out of range
   */
  public CompletableFuture<List<ProducerInfo>> producers(String stream, int partition) {
    partitionLog(stream, partition); // checks both
    return runtime(stream).agents()[partition].producers();
  }

  /** A stream's partition log; STREAM_NOT_FOUND, or INVALID_ARGUMENT out of range. */
  private PartitionLog partitionLog(String stream, int partition) {
    StreamRuntime rt = runtime(stream);
    if (partition < 0 || partition >= rt.agents().length) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "stream "
              + stream
              + " has partitions 0.."
              + (rt.agents().length - 1)
              + ", not "
              + partition);
    }
    return rt.agents()[partition].log();
  }

  /**
   * An ephemeral read of a partition's tail: its messages from {@code fromOffset} on (clamped to
   * the partition's start), up to about {@code maxBytes}; when there is none yet, waits up to
   * {@code waitMs} for the next append and then completes empty with {@code nextOffset ==
   * fromOffset}. Keeps no state: the caller holds its position (a Kafka fetch, an SSE stream's last
   * event id). Reads the log off the caller's thread and completes on {@code completeOn}.
   *
   * <p>Fails with {@link ErrorCode#STREAM_NOT_FOUND}, {@link ErrorCode#INVALID_ARGUMENT} for a
   * partition out of range, {@link ErrorCode#TOO_MANY_WAITING_FETCHES} past 10,000 waiting reads on
   * one partition, or the log's error.
   */
  public CompletableFuture<TailRead> tail(
      String stream,
      int partition,
      long fromOffset,
      int maxBytes,
      long waitMs,
      java.util.concurrent.Executor completeOn) {
    PartitionLog log;
    try {
      ensureOpen();
      log = partitionLog(stream, partition);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
    return tails.read(stream, partition, log, fromOffset, maxBytes, waitMs, completeOn);
  }

  /**
   * As {@link #tail}, but the result is the stored batches as they are on disk (Kafka's RecordBatch
   * v2): what a Kafka fetch returns. Starts with the batch holding {@code fromOffset}, so it may
   * begin before it; a read past the end waits up to {@code waitMs}, a read below the partition's
   * start fails with {@link ErrorCode#LOG_OFFSET_OUT_OF_RANGE} (a Kafka consumer then resets its
   * position), as does one past the end.
   */
  public CompletableFuture<RawRead> tailRaw(
      String stream,
      int partition,
      long fromOffset,
      int maxBytes,
      long waitMs,
      java.util.concurrent.Executor completeOn) {
    PartitionLog log;
    try {
      ensureOpen();
      log = partitionLog(stream, partition);
      if (fromOffset < log.logStartOffset() || fromOffset > log.logEndOffset()) {
        throw SwitchboardException.of(
            ErrorCode.LOG_OFFSET_OUT_OF_RANGE,
            fromOffset,
            log.logStartOffset(),
            log.logEndOffset());
      }
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
    return tails.read(
        stream, partition, log, fromOffset, maxBytes, waitMs, completeOn, TailReader.RAW);
  }

  /**
   * A partition's bounds, read without blocking: its first readable offset and the end of what
   * readers may see (under {@code fsync=always}, what is on stable storage).
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#INVALID_ARGUMENT} for a partition out of range
   */
  public PartitionBounds partitionBounds(String stream, int partition) {
    PartitionLog log = partitionLog(stream, partition);
    return new PartitionBounds(log.logStartOffset(), log.readableEndOffset());
  }

  /**
   * The offset of a partition's first message stamped at or after {@code timestampMs}, or -1 when
   * every message is older. Reads the log: call through {@link #offload}.
   */
  public long offsetForTimestamp(String stream, int partition, long timestampMs) {
    Blocking.check("Broker.offsetForTimestamp");
    PartitionLog log = partitionLog(stream, partition);
    long offset = log.offsetForTimestamp(timestampMs);
    return offset >= log.readableEndOffset() ? -1 : offset;
  }

  /**
   * {offset, timestamp} of a partition's first readable message stamped with the largest timestamp
   * among its readable messages, or null when it has none. Reads the log: call through {@link
   * #offload}.
   */
  public long[] maxTimestampOffset(String stream, int partition) {
    Blocking.check("Broker.maxTimestampOffset");
    PartitionLog log = partitionLog(stream, partition);
    return log.maxTimestampOffset(log.readableEndOffset());
  }

  /**
   * Reads one partition of a stream as decoded messages, from {@code offset} on, at most {@code
   * maxMessages} of them (0 or less: no limit) from at most about {@code maxBytes} of the log (see
   * {@link #read}). For front ends: no log types cross.
   *
   * @throws SwitchboardException as {@link #read}
   */
  public PartitionRead readMessages(
      String stream, int partition, long offset, int maxBytes, int maxMessages) {
    int limit = maxMessages <= 0 ? Integer.MAX_VALUE : maxMessages;
    List<StoredMessage> out = new ArrayList<>();
    long next = offset;
    for (RecordBatch b : read(stream, partition, offset, maxBytes).batches()) {
      for (Record r : b.records(Integer.MAX_VALUE)) {
        if (r.offset() >= offset && out.size() < limit) {
          out.add(StoredMessage.of(stream, partition, r));
          next = r.offset() + 1;
        }
      }
      if (out.size() >= limit) {
        break;
      }
      next = Math.max(next, b.nextOffset());
    }
    return new PartitionRead(out, next);
  }

  /**
   * The last message of every subject in a stream that matches {@code pattern}, at most {@code
   * max}, in no particular order: a key/value scan, and the retained messages of MQTT. Its cost
   * grows with the number of subjects the stream holds.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#INVALID_PATTERN}
   */
  public List<StoredMessage> lastMessages(String stream, String pattern, int max) {
    Blocking.check("Broker.lastMessages");
    Subjects.validatePattern(pattern, config.live().subjects());
    StreamRuntime rt = runtime(stream);
    List<StoredMessage> out = new ArrayList<>();
    for (PartitionAgent a : rt.agents()) {
      for (Map.Entry<String, Long> e : a.lastOffsets().entrySet()) {
        if (out.size() >= max) {
          return out;
        }
        if (!Subjects.matches(pattern, e.getKey()) || e.getValue() < a.log().logStartOffset()) {
          continue;
        }
        Record r = singleReads(a.log()).readAt(e.getValue());
        if (r != null) {
          out.add(StoredMessage.of(stream, a.partition(), r));
        }
      }
    }
    return out;
  }

  /**
   * The last message published on {@code subject} in a stream (the key/value "get"), if any. When
   * keyed publishes spread the subject over several partitions, the newest by timestamp wins.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#SUBJECT_INDEX_FULL}
   */
  public Optional<StoredMessage> lastMessage(String stream, String subject) {
    Blocking.check("Broker.lastMessage");
    StreamRuntime rt = runtime(stream);
    StoredMessage newest = null;
    for (PartitionAgent a : rt.agents()) {
      long offset = a.lastOffset(subject);
      if (offset < a.log().logStartOffset()) {
        continue; // none, or removed by retention
      }
      Record r = singleReads(a.log()).readAt(offset);
      if (r != null && (newest == null || r.timestamp() > newest.message().timestampMs())) {
        newest = StoredMessage.of(stream, a.partition(), r);
      }
    }
    return Optional.ofNullable(newest);
  }

  /**
   * Every message of one subject, in order, from {@code fromOffset}, at most {@code max}: the
   * event-store read of an aggregate. It reads the partition the subject maps to when published
   * without a key, where event-store appends go; messages published on the subject with a key are
   * in their key's partition and are read with {@link #read}.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#INVALID_SUBJECT}
   */
  public List<StoredMessage> readSubject(String stream, String subject, long fromOffset, int max) {
    Blocking.check("Broker.readSubject");
    Subjects.validateSubject(subject, config.live().subjects());
    StreamRuntime rt = runtime(stream);
    int partition = partitionOf(Message.of(subject, new byte[0], 0), rt.agents().length);
    PartitionAgent agent = rt.agents()[partition];
    PartitionLog log = agent.log();
    long last = agent.lastOffset(subject);
    List<StoredMessage> out = new ArrayList<>();
    long offset = Math.max(fromOffset, log.logStartOffset());
    PartitionReader reader = new PartitionReader(log, 1 << 20, PartitionReader.RETHROW);
    Record r;
    while (out.size() < max
        && offset <= last
        && (r = reader.next(offset, log.logEndOffset())) != null) {
      if (subject.equals(r.subject())) {
        out.add(StoredMessage.of(stream, partition, r));
      }
      offset = r.offset() + 1;
    }
    return out;
  }

  /** A reader for single records of {@code log} (the last value of a subject, and the like). */
  private static PartitionReader singleReads(PartitionLog log) {
    return new PartitionReader(log, 1, PartitionReader.RETHROW);
  }

  // ------------------------------------------------------------------ producer batches

  /** Messages in one producer batch at most (Kafka's batches are bounded by bytes; so is ours). */
  public static final int MAX_BATCH_MESSAGES = 100_000;

  /** The producer id of a batch that is not idempotent (Kafka's {@code NO_PRODUCER_ID}). */
  public static final long NO_PRODUCER = -1;

  /**
   * Appends a producer's batch to one named partition of a stream (no partitioning by key or
   * subject): a Kafka produce. The messages are stored as one record batch at consecutive offsets,
   * or not at all, and the acknowledgement's offset is the first one. Live subscribers and bindings
   * see every message of it as they would a {@link #publish} of each (live delivery first, and
   * before the stream's checks, as for a publish; the acknowledgement waits for the bindings'
   * copies). One command reaches the partition's agent, however many messages.
   *
   * <p>With {@code producerId >= 0} the batch is idempotent as a whole, its first message carrying
   * {@code baseSequence} and each next one the next sequence: a retry of a stored batch is
   * acknowledged with the original base offset and {@link PublishAck#duplicate()} and not stored
   * again (nor copied again into bound streams, within their duplicate window); a gap or a partial
   * overlap fails with {@link ErrorCode#OUT_OF_ORDER_SEQUENCE}, an older epoch with {@link
   * ErrorCode#PRODUCER_FENCED}. {@link #NO_PRODUCER} stores the batch without these checks.
   *
   * <p>Every message's subject must be captured by {@code stream} ({@link
   * ErrorCode#STREAM_MISMATCH} otherwise: a subject belongs to one stream); a batch is never
   * delayed ({@link ErrorCode#INVALID_DELAY} for a message with a delay header). Also fails with
   * {@link ErrorCode#STREAM_NOT_FOUND}, {@link ErrorCode#INVALID_ARGUMENT} (a partition out of
   * range, no message, more than {@value #MAX_BATCH_MESSAGES}, a negative epoch or sequence),
   * {@link ErrorCode#INVALID_SUBJECT}, {@link ErrorCode#MESSAGE_TOO_LARGE}, {@link
   * ErrorCode#STREAM_FULL}, {@link ErrorCode#PUBLISH_BACKPRESSURE}, {@link
   * ErrorCode#LOG_BATCH_TOO_LARGE}, {@link ErrorCode#BROKER_CLOSED}, the schema codes of {@link
   * #publish} (the whole batch is refused when one message fails), or the storage's error. Never
   * blocks; completes on the partition's runner or the log's flusher (as {@link #publish}).
   */
  public CompletableFuture<PublishAck> publishBatch(
      String stream,
      int partition,
      List<Message> messages,
      long producerId,
      short epoch,
      int baseSequence) {
    try {
      ensureOpen();
      StreamRuntime rt = runtime(stream);
      if (partition < 0 || partition >= rt.agents().length) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "stream "
                + stream
                + " has partitions 0.."
                + (rt.agents().length - 1)
                + ", not "
                + partition);
      }
      if (messages.isEmpty() || messages.size() > MAX_BATCH_MESSAGES) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "a batch holds 1.." + MAX_BATCH_MESSAGES + " messages, not " + messages.size());
      }
      io.switchboard.broker.stream.ProducerSequence producer = null;
      if (producerId >= 0) {
        if (epoch < 0 || baseSequence < 0) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT,
              "an idempotent batch needs epoch and base sequence >= 0, not "
                  + epoch
                  + " and "
                  + baseSequence);
        }
        producer =
            new io.switchboard.broker.stream.ProducerSequence(producerId, epoch, baseSequence);
      }
      long now = clock.nowMs();
      for (Message m : messages) {
        Subjects.validateSubject(m.subject(), config.live().subjects());
        String captured = catalog.streamFor(m.subject()).orElse(null);
        if (!stream.equals(captured)) {
          throw SwitchboardException.of(
              ErrorCode.STREAM_MISMATCH,
              m.subject(),
              captured == null ? "no stream" : "stream \"" + captured + "\"",
              stream);
        }
        if (DelayStore.dueTime(m, now) > 0) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_DELAY, m.subject(), "a producer batch is stored as it comes");
        }
        checkSchema(rt, stream, m);
      }
      List<CompletableFuture<PublishAck>> copies = new ArrayList<>();
      for (int i = 0; i < messages.size(); i++) {
        Message m = messages.get(i);
        live.publish(m);
        for (Bindings.Copy copy : bindings.copies(m)) {
          // A retried idempotent batch makes no second copy: each copy's id names its sequence.
          String copyId =
              producer == null
                  ? null
                  : "p"
                      + producerId
                      + "."
                      + epoch
                      + "."
                      + (baseSequence + i)
                      + '@'
                      + copy.message().subject();
          copies.add(storeCopy(copy, copyId));
        }
      }
      CompletableFuture<PublishAck> own = rt.agents()[partition].publishBatch(messages, producer);
      if (copies.isEmpty()) {
        return own;
      }
      copies.add(own);
      return CompletableFuture.allOf(copies.toArray(CompletableFuture<?>[]::new))
          .thenCompose(ignored -> own);
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  // ------------------------------------------------------------------ consumer groups

  /**
   * The broker's data directory: a front end that keeps state of its own (Kafka's transaction log)
   * keeps it in a directory of its own below this one.
   */
  public java.nio.file.Path dataDir() {
    return config.dataDir();
  }

  /** Where consumer groups' generations and committed offsets are kept. */
  static final String GROUPS_DIR = "groups";

  /**
   * Consumer groups' generations and committed offsets (Kafka's group coordinator; see {@link
   * io.switchboard.broker.group.Groups}).
   */
  public io.switchboard.broker.group.Groups groups() {
    return groupCoordinator.groups();
  }

  /** The coordinator behind {@link #groups()} (tests). */
  io.switchboard.broker.group.GroupCoordinator groupCoordinator() {
    return groupCoordinator;
  }

  private void openGroups() {
    io.switchboard.broker.group.GroupCoordinator c =
        io.switchboard.broker.group.GroupCoordinator.open(
            config.dataDir().resolve(GROUPS_DIR),
            config.storage(),
            clock,
            flusher,
            config.maxGroups(),
            config.maxOffsetsPerGroup(),
            p -> partitionLog(p.stream(), p.partition()));
    groupCoordinator = c;
    nextRunner().add(c);
    maintenance.register(c.log());
  }

  /** After the runners stopped: finishes what the coordinator had taken, fails the rest. */
  private void closeGroups() {
    io.switchboard.broker.group.GroupCoordinator c = groupCoordinator;
    if (c != null) {
      c.doWork();
      c.close();
    }
  }

  /** Runs retention and compaction on every partition now (tests; normally periodic). */
  void runMaintenance() {
    maintenance.runOnce();
  }

  /**
   * The schema registry (subjects, versions, compatibility): changes block on an fsync, so front
   * ends call them through {@link #offload}.
   */
  public SchemaRegistry schemas() {
    return schemas;
  }

  /** A stream's schema requirement, if it has one ({@link StreamSchema}). */
  private void checkSchema(String stream, Message m) {
    checkSchema(streams.get(stream), stream, m);
  }

  /** As {@link #checkSchema(String, Message)}, with the stream's runtime already in hand. */
  private void checkSchema(StreamRuntime rt, String stream, Message m) {
    StreamSchema schema = rt == null ? null : rt.config().schema();
    if (schema != null) {
      schemaCheck.check(stream, schema, m);
    }
  }

  /** Messages refused by a stream's schema requirement (every front end's), for metrics. */
  public long schemaRejectedCount() {
    return schemaCheck.rejectedCount();
  }

  /** Live subscriptions and request/reply. */
  public LiveBus live() {
    return live;
  }

  private void ensureOpen() {
    if (closed) {
      throw SwitchboardException.of(ErrorCode.BROKER_CLOSED);
    }
  }

  private void deleteTree(Path dir) {
    try {
      config.storage().deleteTree(dir);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    }
  }

  /**
   * Stops the runners (finishing their current cycle), fails what is still queued, closes every log
   * cleanly, and closes the live bus.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    bindingStore.close();
    schemas.close();
    tails.close();
    tailTimer.shutdownNow();
    readers.shutdown();
    workQueueTrimmer.shutdownNow();
    delayTicker.shutdownNow();
    try {
      // A pass may be waiting for releases; the interrupt ends that wait.
      delayTicker.awaitTermination(DelayStore.RELEASE_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (StreamRuntime rt : streams.values()) {
      rt.delays().close();
    }
    consumers.close();
    maintenance.close();
    for (AgentRunner r : runners) {
      r.close();
    }
    closeGroups();
    for (StreamRuntime rt : streams.values()) {
      for (PartitionAgent a : rt.agents()) {
        // Work the runner had taken but not appended yet is finished here, on the closing thread.
        a.doWork();
        a.close();
      }
    }
    streams.clear();
    flusher.close();
    live.close();
  }
}
