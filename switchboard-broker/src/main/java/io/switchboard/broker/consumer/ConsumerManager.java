package io.switchboard.broker.consumer;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.switchboard.broker.stream.AgentRunner;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.Subjects;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable consumers of every stream: creation, deletion, lookup, and their persistence.
 *
 * <p>Thread safety: thread-safe; changes serialize on the manager, lookups do not lock.
 *
 * <p>Files, per consumer, in {@code <streamDir>/consumers/<name>/}: {@code config.json} (written
 * atomically at creation) and {@code state.json} (a {@link ConsumerState}, replaced atomically by a
 * background writer at most every {@code persistIntervalMs} while it changes). After a crash a
 * consumer resumes from its last {@code state.json}: acknowledgements made after that write are
 * lost, so those messages are delivered again (at-least-once); nothing acknowledged before it is. A
 * directory missing either file (a create or delete cut short) is removed when loading.
 */
public final class ConsumerManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConsumerManager.class);
  private static final ObjectMapper JSON =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  static final String CONFIG_FILE = "config.json";
  static final String STATE_FILE = "state.json";

  private record Running(ConsumerAgent agent, AgentRunner runner, Path dir) {}

  private final Clock clock;
  private final StorageIO io;
  private final long persistIntervalMs;
  private final Function<Message, CompletableFuture<?>> deadLetterPublisher;
  private final Map<String, Map<String, Running>> byStream = new ConcurrentHashMap<>();
  private final Map<Path, ConsumerState> unwritten = new ConcurrentHashMap<>();
  private volatile DropHook dropHook;
  private volatile java.util.concurrent.Executor dropExecutor;

  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().daemon().name("sb-consumer-state").unstarted(r));

  public ConsumerManager(
      Clock clock,
      long persistIntervalMs,
      Function<Message, CompletableFuture<?>> deadLetterPublisher) {
    this(clock, NioStorageIO.INSTANCE, persistIntervalMs, deadLetterPublisher);
  }

  /** With every consumer file going through {@code io}. */
  public ConsumerManager(
      Clock clock,
      StorageIO io,
      long persistIntervalMs,
      Function<Message, CompletableFuture<?>> deadLetterPublisher) {
    this.clock = clock;
    this.io = io;
    this.persistIntervalMs = persistIntervalMs;
    this.deadLetterPublisher = deadLetterPublisher;
  }

  /**
   * Creates a consumer on a stream whose partition logs are {@code logs}; {@code lastPerSubject}
   * gives, per partition, each subject's last offset (for {@link StartPosition#LAST_PER_SUBJECT}).
   *
   * @throws SwitchboardException {@link ErrorCode#CONSUMER_EXISTS}
   */
  public synchronized ConsumerInfo create(
      String stream,
      Path streamDir,
      ConsumerConfig config,
      List<PartitionLog> logs,
      List<Map<String, Long>> lastPerSubject,
      AgentRunner runner) {
    Map<String, Running> consumers =
        byStream.computeIfAbsent(stream, s -> new ConcurrentHashMap<>());
    if (consumers.containsKey(config.name())) {
      throw SwitchboardException.of(ErrorCode.CONSUMER_EXISTS, stream, config.name());
    }
    // A consumer of this name deleted just before still has its files deleted (and maybe its last
    // state written) by the writer: let that happen first, so none of it lands on the new one.
    flush();
    Path dir = streamDir.resolve("consumers").resolve(config.name());
    ConsumerState initial = initialState(config, logs, lastPerSubject);
    try {
      io.createDirectories(dir);
      write(dir.resolve(STATE_FILE), JSON.writeValueAsBytes(initial));
      write(dir.resolve(CONFIG_FILE), JSON.writeValueAsBytes(config));
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir, e.getMessage());
    }
    start(stream, dir, config, initial, logs, runner);
    return info(stream, config.name());
  }

  /** Starts every consumer stored under {@code streamDir} (at broker start, or after a reopen). */
  public synchronized void load(
      String stream, Path streamDir, List<PartitionLog> logs, AgentRunner runner) {
    Path root = streamDir.resolve("consumers");
    try {
      for (Path dir : io.listDirectories(root).stream().sorted().toList()) {
        if (!io.exists(dir.resolve(CONFIG_FILE)) || !io.exists(dir.resolve(STATE_FILE))) {
          // create writes config.json last, so without it the create never returned; without
          // state.json a delete (already answered) was under way. Either way: not a consumer.
          LOG.warn("SB-BRK-2019 {}: incomplete consumer directory left by a crash; removed", dir);
          io.deleteTree(dir);
          continue;
        }
        ConsumerConfig config =
            JSON.readValue(bytes(dir.resolve(CONFIG_FILE)), ConsumerConfig.class);
        ConsumerState state = JSON.readValue(bytes(dir.resolve(STATE_FILE)), ConsumerState.class);
        start(stream, dir, config, state, logs, runner);
      }
    } catch (IOException e) {
      throw SwitchboardException.wrap(
          e,
          ErrorCode.INVALID_CONFIG,
          "consumers of " + stream + " in " + root + ": " + e.getMessage());
    }
  }

  private byte[] bytes(Path file) throws IOException {
    ByteBuffer b = io.readAll(file);
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  private void start(
      String stream,
      Path dir,
      ConsumerConfig config,
      ConsumerState state,
      List<PartitionLog> logs,
      AgentRunner runner) {
    Path stateFile = dir.resolve(STATE_FILE);
    ConsumerAgent agent =
        new ConsumerAgent(
            stream,
            config,
            logs,
            state,
            clock,
            deadLetterPublisher,
            s -> persistLater(stateFile, s),
            persistIntervalMs);
    if (dropHook != null) {
      agent.dropHook(dropHook, dropExecutor);
    }
    byStream
        .computeIfAbsent(stream, s -> new ConcurrentHashMap<>())
        .put(config.name(), new Running(agent, runner, dir));
    runner.add(agent);
  }

  /**
   * Hands what every consumer drops from its head to {@code hook}, called on {@code executor} (see
   * {@link DropHook}); consumers started later get it too. Null: drops go silently.
   */
  public void dropHook(DropHook hook, java.util.concurrent.Executor executor) {
    synchronized (this) {
      this.dropExecutor = executor;
      this.dropHook = hook;
    }
    for (Map<String, Running> consumers : byStream.values()) {
      for (Running r : consumers.values()) {
        r.agent().dropHook(hook, executor);
      }
    }
  }

  private static ConsumerState initialState(
      ConsumerConfig config, List<PartitionLog> logs, List<Map<String, Long>> lastPerSubject) {
    if (config.start() == StartPosition.LAST_PER_SUBJECT) {
      return lastPerSubjectState(config, logs, lastPerSubject);
    }
    List<ConsumerState.PartitionState> parts = new ArrayList<>();
    for (PartitionLog log : logs) {
      long next =
          switch (config.start()) {
            case EARLIEST -> log.logStartOffset();
            case LATEST -> log.logEndOffset();
            case OFFSET ->
                Math.min(Math.max(config.startOffset(), log.logStartOffset()), log.logEndOffset());
            case TIME -> {
              long at = log.offsetForTimestamp(config.startTimeMs());
              yield at < 0 ? log.logEndOffset() : at;
            }
            case LAST_PER_SUBJECT -> throw new IllegalStateException("handled above");
          };
      parts.add(new ConsumerState.PartitionState(next, List.of()));
    }
    return new ConsumerState(parts);
  }

  /**
   * Starts after the end, with each subject's last message waiting to be delivered (as if given
   * back, never delivered yet): the current state first, then new messages.
   */
  private static ConsumerState lastPerSubjectState(
      ConsumerConfig config, List<PartitionLog> logs, List<Map<String, Long>> lastPerSubject) {
    List<ConsumerState.PartitionState> parts = new ArrayList<>();
    int total = 0;
    for (int p = 0; p < logs.size(); p++) {
      PartitionLog log = logs.get(p);
      List<long[]> waiting = new ArrayList<>();
      for (Map.Entry<String, Long> e : lastPerSubject.get(p).entrySet()) {
        boolean matches = config.filter() == null || Subjects.matches(config.filter(), e.getKey());
        if (matches && e.getValue() >= log.logStartOffset()) {
          waiting.add(new long[] {e.getValue(), 0});
        }
      }
      waiting.sort(Comparator.comparingLong(w -> w[0]));
      total += waiting.size();
      parts.add(new ConsumerState.PartitionState(log.logEndOffset(), waiting));
    }
    if (total > config.maxAckPending()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG,
          "consumer "
              + config.name()
              + ": "
              + total
              + " subjects to start from exceed maxAckPending "
              + config.maxAckPending()
              + "; raise it or narrow the filter");
    }
    return new ConsumerState(parts);
  }

  /** Keeps only the newest snapshot per file waiting; one write per file queued at most. */
  private void persistLater(Path stateFile, ConsumerState state) {
    if (unwritten.put(stateFile, state) == null) {
      writer.execute(
          () -> {
            ConsumerState newest = unwritten.remove(stateFile);
            if (newest != null) {
              try {
                write(stateFile, JSON.writeValueAsBytes(newest));
              } catch (IOException e) {
                LOG.error("SB-BRK-2012 {}: consumer state not saved", stateFile, e);
              }
            }
          });
    }
  }

  private void write(Path file, byte[] json) throws IOException {
    io.writeAtomically(file, ByteBuffer.wrap(json));
  }

  /**
   * The running consumer.
   *
   * @throws SwitchboardException {@link ErrorCode#CONSUMER_NOT_FOUND}
   */
  public ConsumerAgent get(String stream, String name) {
    Map<String, Running> consumers = byStream.get(stream);
    Running r = consumers == null ? null : consumers.get(name);
    if (r == null) {
      throw SwitchboardException.of(ErrorCode.CONSUMER_NOT_FOUND, stream, name);
    }
    return r.agent();
  }

  /**
   * The lowest ack floor of {@code partition} over a stream's consumers, or -1 when it has none:
   * everything below it is done for every consumer.
   */
  public long lowestAckFloor(String stream, int partition) {
    Map<String, Running> consumers = byStream.get(stream);
    if (consumers == null || consumers.isEmpty()) {
      return -1;
    }
    long lowest = Long.MAX_VALUE;
    for (Running r : consumers.values()) {
      lowest = Math.min(lowest, r.agent().ackFloor(partition));
    }
    return lowest;
  }

  public ConsumerInfo info(String stream, String name) {
    ConsumerAgent a = get(stream, name);
    return new ConsumerInfo(stream, a.config(), a.unacknowledged(), a.deadLettered(), a.pending());
  }

  public List<ConsumerInfo> list(String stream) {
    Map<String, Running> consumers = byStream.getOrDefault(stream, Map.of());
    return consumers.keySet().stream().sorted().map(n -> info(stream, n)).toList();
  }

  /** Deletes a consumer and its files. */
  public synchronized void delete(String stream, String name) {
    get(stream, name);
    Running r = byStream.get(stream).remove(name);
    stop(r);
    writer.execute(() -> deleteTree(r.dir()));
  }

  /**
   * Stops a stream's consumers and waits until their last state is on disk (before its partitions
   * close, and before anything reloads them).
   */
  public synchronized void stopStream(String stream) {
    Map<String, Running> consumers = byStream.remove(stream);
    if (consumers != null) {
      consumers.values().forEach(this::stop);
      flush();
    }
  }

  private void stop(Running r) {
    r.agent().close();
    r.runner().remove(r.agent());
    r.agent().finish();
  }

  private void deleteTree(Path dir) {
    try {
      io.deleteTree(dir);
    } catch (IOException e) {
      LOG.warn("SB-BRK-2013 {}: could not delete consumer files", dir, e);
    }
  }

  /** Waits until every state snapshot handed over so far is written. */
  public void flush() {
    try {
      writer.submit(() -> {}).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("SB-BRK-2014 waiting for consumer state writes failed", e);
    }
  }

  /** Stops every consumer and waits for their last state to be written. */
  @Override
  public synchronized void close() {
    for (String stream : List.copyOf(byStream.keySet())) {
      stopStream(stream);
    }
    writer.shutdown();
    try {
      if (!writer.awaitTermination(30, TimeUnit.SECONDS)) {
        LOG.warn("SB-BRK-2014 consumer state writer did not finish within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
