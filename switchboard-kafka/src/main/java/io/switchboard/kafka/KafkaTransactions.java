package io.switchboard.kafka;

import io.switchboard.broker.Broker;
import io.switchboard.broker.group.Groups;
import io.switchboard.broker.group.OffsetCommit;
import io.switchboard.broker.group.StreamPartition;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.kafka.KafkaTxnLog.Commit;
import io.switchboard.kafka.KafkaTxnLog.Offset;
import io.switchboard.kafka.KafkaTxnLog.PartitionKey;
import io.switchboard.kafka.KafkaTxnLog.PartitionRecords;
import io.switchboard.kafka.KafkaTxnLog.Producer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * Kafka's transaction coordinator, held in the front end (docs/kafka.md, "Transactions"): a
 * transaction's produced batches are kept here, not in their partitions, until it ends. A commit
 * writes its decision, with the batches and the group offsets, to the {@link KafkaTxnLog} (forced),
 * then appends the batches to their partitions and commits the offsets through the broker, then
 * marks the commit applied; an abort drops what was kept. So nothing of an open or aborted
 * transaction is ever in a partition, for any protocol. A commit decided but not applied (a crash
 * between) is applied again when the front end starts; the appends are idempotent through the
 * producer's id, epoch and the sequences the decision fixed.
 *
 * <p>Bounded: {@code kafka.transaction-max-bytes} per transaction, {@code
 * kafka.transactions-max-bytes} in all (records held until their commit is applied), {@code
 * kafka.transactional-ids-max} transactional ids.
 *
 * <p>Thread safety: all state is owned by one executor (an event loop); callers reach it through
 * {@link #on}. Disk writes go through {@code Broker.offload}; {@link #hasPendingOffset} may be read
 * from any thread.
 */
final class KafkaTransactions {
  /** How often timeouts are checked. */
  static final long TICK_MS = 100;

  /** How long a commit whose appends fail for a passing reason is retried before it is left. */
  static final long APPLY_RETRY_MS = 60_000;

  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(KafkaTransactions.class);

  /** Settings. */
  record Limits(long maxTxnBytes, long maxBytes, int maxIds, int maxTimeoutMs) {}

  enum Phase {
    /** No transaction open. */
    EMPTY,
    /** A transaction is open: partitions or offsets were added. */
    ONGOING,
    /** A commit, an abort or an epoch bump is being written: other requests wait. */
    ENDING
  }

  /** One produce request's records for one partition, as they came. */
  private record Piece(byte[] records, int firstSequence, int lastSequence) {}

  private static final class Txn {
    final String id;
    long producerId;
    short epoch;
    int timeoutMs;
    Phase phase = Phase.EMPTY;
    Boolean lastCommitted;
    long deadline;
    long startedMs = -1;
    long bytes;
    final LinkedHashMap<PartitionKey, List<Piece>> partitions = new LinkedHashMap<>();
    final Set<String> groups = new LinkedHashSet<>();
    final LinkedHashMap<String, Map<PartitionKey, OffsetCommit>> offsets = new LinkedHashMap<>();

    /** The last sequence of the client's batches per partition, this epoch. */
    final Map<PartitionKey, Integer> clientSequences = new HashMap<>();

    /** The next sequence a commit stores per partition, this epoch. */
    final Map<PartitionKey, Integer> sequences = new HashMap<>();

    Txn(String id) {
      this.id = id;
    }

    Producer producer() {
      return new Producer(id, producerId, epoch, timeoutMs, new LinkedHashMap<>(sequences));
    }
  }

  private final Broker broker;
  private final ScheduledExecutorService executor;
  private final LongSupplier clock;
  private final Limits limits;
  private final KafkaTxnLog log;
  private final Map<String, Txn> txns = new HashMap<>();
  private final Map<String, Map<PartitionKey, Integer>> pendingOffsets = new ConcurrentHashMap<>();
  private final java.security.SecureRandom ids = new java.security.SecureRandom();
  private long heldBytes;

  /** The number the next commit decision takes (the log's lock is never taken on the loop). */
  private long nextCommit;

  private ScheduledFuture<?> ticker;

  private KafkaTransactions(
      Broker broker,
      ScheduledExecutorService executor,
      LongSupplier clock,
      Limits limits,
      KafkaTxnLog log) {
    this.broker = broker;
    this.executor = executor;
    this.clock = clock;
    this.limits = limits;
    this.log = log;
  }

  /**
   * Opens the transaction log in the broker's data directory and applies the commits it decided but
   * did not finish. Blocks (the server's thread, at start).
   */
  static KafkaTransactions open(
      Broker broker, ScheduledExecutorService executor, LongSupplier clock, Limits limits) {
    KafkaTxnLog log = KafkaTxnLog.open(broker.dataDir());
    KafkaTransactions t = new KafkaTransactions(broker, executor, clock, limits, log);
    t.nextCommit = log.nextCommitNumber();
    for (Producer p : log.producers().values()) {
      Txn x = new Txn(p.transactionalId());
      x.producerId = p.producerId();
      x.epoch = p.epoch();
      x.timeoutMs = p.timeoutMs();
      x.sequences.putAll(p.sequences());
      t.txns.put(x.id, x);
    }
    List<Commit> pending = log.pending();
    if (!pending.isEmpty()) {
      LOG.info("kafka transactions: applying {} committed transactions again", pending.size());
    }
    for (Commit c : pending) {
      try {
        CompletableFuture<Void> applied = new CompletableFuture<>();
        executor.execute(() -> t.apply(c, true).whenComplete((v, e) -> applied.complete(null)));
        applied.get(APPLY_RETRY_MS * 2, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.error(
            "kafka transactions: commit {} of {} not applied", c.number(), c.transactionalId(), e);
      }
    }
    t.ticker = executor.scheduleAtFixedRate(t::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    return t;
  }

  void close() {
    if (ticker != null) {
      ticker.cancel(false);
    }
    log.close();
  }

  /** Runs {@code call} on the coordinator's executor. */
  <T> CompletableFuture<T> on(java.util.function.Supplier<CompletableFuture<T>> call) {
    return CompletableFuture.supplyAsync(call, executor).thenCompose(f -> f);
  }

  /**
   * Whether an open transaction holds an offset of {@code group} for a partition (OffsetFetch with
   * {@code require_stable} answers {@code UNSTABLE_OFFSET_COMMIT} then). Any thread.
   */
  boolean hasPendingOffset(String group, String stream, int partition) {
    Map<PartitionKey, Integer> m = pendingOffsets.get(group);
    return m != null && m.containsKey(new PartitionKey(stream, partition));
  }

  /** An answer: Kafka's error and a message for it (null with {@link Errors#NONE}). */
  record Answer(Errors error, String message) {
    static final Answer OK = new Answer(Errors.NONE, null);

    static Answer of(Errors e) {
      return e == Errors.NONE ? OK : new Answer(e, null);
    }
  }

  /** InitProducerId's answer. */
  record Init(Errors error, long producerId, short epoch) {}

  private static CompletableFuture<Answer> done(Answer a) {
    return CompletableFuture.completedFuture(a);
  }

  // ------------------------------------------------------------------ Describe, List

  /** A transactional id as DescribeTransactions and ListTransactions show it (Kafka's states). */
  record View(
      String id,
      long producerId,
      short epoch,
      String state,
      int timeoutMs,
      long startedMs,
      Map<String, List<Integer>> partitions) {}

  /** The transactional ids known, or those of {@code ids} that are (null: all). On the executor. */
  List<View> views(java.util.Collection<String> ids) {
    List<View> out = new ArrayList<>();
    java.util.Collection<Txn> which =
        ids == null ? txns.values() : ids.stream().map(txns::get).filter(t -> t != null).toList();
    for (Txn t : which) {
      String state =
          switch (t.phase) {
            case ONGOING -> "Ongoing";
            case ENDING -> "PrepareCommit";
            case EMPTY ->
                t.lastCommitted == null
                    ? "Empty"
                    : t.lastCommitted ? "CompleteCommit" : "CompleteAbort";
          };
      Map<String, List<Integer>> parts = new java.util.TreeMap<>();
      if (t.phase != Phase.EMPTY) {
        t.partitions
            .keySet()
            .forEach(
                p -> parts.computeIfAbsent(p.stream(), k -> new ArrayList<>()).add(p.partition()));
      }
      out.add(
          new View(
              t.id,
              t.producerId,
              t.epoch,
              state,
              t.timeoutMs,
              t.phase == Phase.EMPTY ? -1 : t.startedMs,
              parts));
    }
    return out;
  }

  // ------------------------------------------------------------------ InitProducerId

  /** Runs on the executor. */
  CompletableFuture<Init> initProducerId(
      String id, int timeoutMs, long producerId, short producerEpoch) {
    if (timeoutMs <= 0 || timeoutMs > limits.maxTimeoutMs()) {
      return CompletableFuture.completedFuture(
          new Init(Errors.INVALID_TRANSACTION_TIMEOUT, -1, (short) -1));
    }
    Txn t = txns.get(id);
    if (t == null) {
      if (txns.size() >= limits.maxIds()) {
        LOG.warn(
            "kafka transactions: {}",
            SwitchboardException.of(ErrorCode.KAFKA_TXN_IDS_FULL, txns.size(), limits.maxIds())
                .getMessage());
        return CompletableFuture.completedFuture(new Init(Errors.POLICY_VIOLATION, -1, (short) -1));
      }
      t = new Txn(id);
      t.producerId = newProducerId();
      t.epoch = -1;
      txns.put(id, t);
    } else {
      if (t.phase == Phase.ENDING) {
        return CompletableFuture.completedFuture(
            new Init(Errors.CONCURRENT_TRANSACTIONS, -1, (short) -1));
      }
      if (producerId >= 0 && (producerId != t.producerId || producerEpoch != t.epoch)) {
        return CompletableFuture.completedFuture(
            new Init(
                producerId != t.producerId
                    ? Errors.INVALID_PRODUCER_ID_MAPPING
                    : Errors.PRODUCER_FENCED,
                -1,
                (short) -1));
      }
      if (t.phase == Phase.ONGOING) {
        // A new instance takes over: what the old one left open is aborted.
        drop(t);
        t.lastCommitted = false;
      }
    }
    Txn x = t;
    if (x.epoch >= Short.MAX_VALUE - 1) {
      x.producerId = newProducerId();
      x.epoch = 0;
    } else {
      x.epoch++;
    }
    x.timeoutMs = timeoutMs;
    x.sequences.clear();
    x.clientSequences.clear();
    x.lastCommitted = null;
    x.phase = Phase.ENDING;
    Producer p = x.producer();
    return broker
        .offload(
            () -> {
              log.producer(p);
              return null;
            },
            executor)
        .handle(
            (v, e) -> {
              x.phase = Phase.EMPTY;
              if (e != null) {
                LOG.error("kafka transactions: producer of {} not recorded", id, e);
                return new Init(Errors.KAFKA_STORAGE_ERROR, -1, (short) -1);
              }
              return new Init(Errors.NONE, x.producerId, x.epoch);
            });
  }

  private long newProducerId() {
    return ids.nextLong() & ((1L << 62) - 1);
  }

  /** Kafka's checks of a request's transactional id, producer id and epoch. */
  private Errors check(Txn t, long producerId, short epoch) {
    if (t == null || t.producerId != producerId) {
      return Errors.INVALID_PRODUCER_ID_MAPPING;
    }
    if (epoch != t.epoch) {
      return Errors.PRODUCER_FENCED;
    }
    if (t.phase == Phase.ENDING) {
      return Errors.CONCURRENT_TRANSACTIONS;
    }
    return Errors.NONE;
  }

  private void begin(Txn t) {
    if (t.phase == Phase.EMPTY) {
      t.phase = Phase.ONGOING;
      t.startedMs = clock.getAsLong();
      t.deadline = t.startedMs + t.timeoutMs;
      t.lastCommitted = null;
    }
  }

  // ------------------------------------------------------------------ AddPartitions, AddOffsets

  /** Adds partitions to the transaction (they exist: the caller checked). On the executor. */
  Errors addPartitions(String id, long producerId, short epoch, List<PartitionKey> partitions) {
    Txn t = txns.get(id);
    Errors e = check(t, producerId, epoch);
    if (e != Errors.NONE) {
      return e;
    }
    begin(t);
    for (PartitionKey p : partitions) {
      t.partitions.computeIfAbsent(p, k -> new ArrayList<>());
    }
    return Errors.NONE;
  }

  /** Whether a partition is in the transaction (AddPartitionsToTxn v4+'s verify-only). */
  Errors verifyPartition(String id, long producerId, short epoch, PartitionKey p) {
    Txn t = txns.get(id);
    Errors e = check(t, producerId, epoch);
    if (e != Errors.NONE) {
      return e;
    }
    return t.phase == Phase.ONGOING && t.partitions.containsKey(p)
        ? Errors.NONE
        : Errors.INVALID_TXN_STATE;
  }

  /** AddOffsetsToTxn. On the executor. */
  Errors addOffsets(String id, long producerId, short epoch, String group) {
    Txn t = txns.get(id);
    Errors e = check(t, producerId, epoch);
    if (e != Errors.NONE) {
      return e;
    }
    begin(t);
    t.groups.add(group);
    return Errors.NONE;
  }

  /** TxnOffsetCommit: keeps the offsets until the transaction ends. On the executor. */
  Errors txnOffsets(
      String id, long producerId, short epoch, String group, Map<PartitionKey, OffsetCommit> o) {
    Txn t = txns.get(id);
    Errors e = check(t, producerId, epoch);
    if (e != Errors.NONE) {
      return e;
    }
    if (t.phase != Phase.ONGOING || !t.groups.contains(group)) {
      return Errors.INVALID_TXN_STATE;
    }
    Map<PartitionKey, OffsetCommit> held =
        t.offsets.computeIfAbsent(group, g -> new LinkedHashMap<>());
    Map<PartitionKey, Integer> pend =
        pendingOffsets.computeIfAbsent(group, g -> new ConcurrentHashMap<>());
    for (Map.Entry<PartitionKey, OffsetCommit> x : o.entrySet()) {
      if (held.put(x.getKey(), x.getValue()) == null) {
        pend.merge(x.getKey(), 1, Integer::sum); // once per transaction and partition
      }
    }
    return Errors.NONE;
  }

  // ------------------------------------------------------------------ Produce

  /**
   * Keeps one partition's records of a transactional produce (already checked: CRC, format,
   * subjects, permissions). On the executor.
   */
  Answer produce(
      String id,
      PartitionKey partition,
      long producerId,
      short epoch,
      int firstSequence,
      int lastSequence,
      byte[] records) {
    Txn t = txns.get(id);
    if (t == null || t.producerId != producerId) {
      return new Answer(
          Errors.INVALID_PRODUCER_ID_MAPPING, "producer " + producerId + " is not that of " + id);
    }
    if (epoch != t.epoch) {
      return new Answer(
          Errors.INVALID_PRODUCER_EPOCH,
          "epoch " + epoch + " of producer " + producerId + " is fenced: " + t.epoch + " is on");
    }
    List<Piece> pieces = t.phase == Phase.ONGOING ? t.partitions.get(partition) : null;
    if (pieces == null) {
      return new Answer(
          Errors.INVALID_TXN_STATE,
          partition.stream()
              + "-"
              + partition.partition()
              + " is not in an open transaction of "
              + id
              + " (AddPartitionsToTxn first)");
    }
    int last = t.clientSequences.getOrDefault(partition, -1);
    if (lastSequence <= last) {
      return Answer.OK; // a retry of records already kept
    }
    if (firstSequence != last + 1) {
      return new Answer(
          Errors.OUT_OF_ORDER_SEQUENCE_NUMBER,
          "sequence " + firstSequence + " after " + last + " on " + partition);
    }
    int size = records.length;
    if (t.bytes + size > limits.maxTxnBytes()) {
      return new Answer(
          Errors.RECORD_LIST_TOO_LARGE,
          SwitchboardException.of(
                  ErrorCode.KAFKA_TXN_TOO_LARGE, id, t.bytes + size, limits.maxTxnBytes())
              .getMessage());
    }
    if (heldBytes + size > limits.maxBytes()) {
      return new Answer(
          Errors.RECORD_LIST_TOO_LARGE,
          SwitchboardException.of(ErrorCode.KAFKA_TXN_MEMORY_FULL, heldBytes, limits.maxBytes())
              .getMessage());
    }
    pieces.add(new Piece(records, firstSequence, lastSequence));
    t.clientSequences.put(partition, lastSequence);
    t.bytes += size;
    heldBytes += size;
    return Answer.OK;
  }

  // ------------------------------------------------------------------ EndTxn

  /** EndTxn. On the executor; completes on it. */
  CompletableFuture<Errors> end(String id, long producerId, short epoch, boolean commit) {
    Txn t = txns.get(id);
    Errors e = check(t, producerId, epoch);
    if (e != Errors.NONE) {
      return CompletableFuture.completedFuture(e);
    }
    if (t.phase == Phase.EMPTY) {
      // A retry of an end already done is answered as it was; anything else is out of place.
      return CompletableFuture.completedFuture(
          t.lastCommitted != null && t.lastCommitted == commit
              ? Errors.NONE
              : Errors.INVALID_TXN_STATE);
    }
    if (!commit) {
      drop(t);
      t.lastCommitted = false;
      t.phase = Phase.EMPTY;
      return CompletableFuture.completedFuture(Errors.NONE);
    }
    Commit c;
    try {
      c = decide(t);
    } catch (RuntimeException ex) {
      LOG.error("kafka transactions: commit of {} not decided", id, ex);
      return CompletableFuture.completedFuture(Errors.UNKNOWN_SERVER_ERROR);
    }
    t.phase = Phase.ENDING;
    long held = t.bytes;
    Map<String, Map<PartitionKey, OffsetCommit>> offsets = new LinkedHashMap<>(t.offsets);
    return broker
        .offload(
            () -> {
              log.commit(c);
              return null;
            },
            executor)
        .thenCompose(
            v -> {
              for (PartitionRecords r : c.partitions()) {
                t.sequences.put(r.partition(), r.baseSequence() + r.count());
              }
              return apply(c, false);
            })
        .handle(
            (v, ex) -> {
              unpend(offsets);
              t.partitions.clear();
              t.groups.clear();
              t.offsets.clear();
              t.bytes = 0;
              heldBytes -= held;
              t.phase = Phase.EMPTY;
              if (ex != null) {
                LOG.error("kafka transactions: commit of {} not recorded", id, ex);
                t.lastCommitted = false;
                return Errors.KAFKA_STORAGE_ERROR;
              }
              t.lastCommitted = true;
              return Errors.NONE;
            });
  }

  /** The commit decision of {@code t}: its records with the sequences they are stored at. */
  private Commit decide(Txn t) {
    List<PartitionRecords> parts = new ArrayList<>();
    for (Map.Entry<PartitionKey, List<Piece>> e : t.partitions.entrySet()) {
      if (e.getValue().isEmpty()) {
        continue;
      }
      int count = 0;
      List<byte[]> records = new ArrayList<>();
      for (Piece p : e.getValue()) {
        count += p.lastSequence() - p.firstSequence() + 1;
        records.add(p.records());
      }
      int base = t.sequences.getOrDefault(e.getKey(), 0);
      parts.add(new PartitionRecords(e.getKey(), base, count, records));
    }
    List<Offset> offsets = new ArrayList<>();
    t.offsets.forEach(
        (group, m) ->
            m.forEach((p, o) -> offsets.add(new Offset(group, p, o.offset(), o.metadata()))));
    return new Commit(nextCommit++, t.id, t.producerId, t.epoch, parts, offsets);
  }

  /** Drops an open transaction's records and offsets (an abort). */
  private void drop(Txn t) {
    heldBytes -= t.bytes;
    t.bytes = 0;
    t.partitions.clear();
    t.groups.clear();
    unpend(t.offsets);
    t.offsets.clear();
  }

  private void unpend(Map<String, Map<PartitionKey, OffsetCommit>> offsets) {
    offsets.forEach(
        (group, m) -> {
          Map<PartitionKey, Integer> pend = pendingOffsets.get(group);
          if (pend == null) {
            return;
          }
          for (PartitionKey p : m.keySet()) {
            pend.computeIfPresent(p, (k, n) -> n <= 1 ? null : n - 1);
          }
          if (pend.isEmpty()) {
            pendingOffsets.remove(group, pend);
          }
        });
  }

  // ------------------------------------------------------------------ applying a commit

  /**
   * Stores a decided commit's records in their partitions and its offsets in their groups, then
   * marks it applied. Passing failures are retried for {@link #APPLY_RETRY_MS}; a stream deleted
   * meanwhile, or records it no longer takes, are skipped and logged. Starts on the executor.
   */
  private CompletableFuture<Void> apply(Commit c, boolean recovering) {
    long until = clock.getAsLong() + APPLY_RETRY_MS;
    List<CompletableFuture<Void>> parts = new ArrayList<>();
    for (PartitionRecords r : c.partitions()) {
      parts.add(applyPartition(c, r, recovering, until));
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenComposeAsync(v -> applyOffsets(c, until), executor)
        .thenComposeAsync(
            v ->
                broker.offload(
                    () -> {
                      log.applied(c.number());
                      return null;
                    },
                    executor),
            executor)
        .handle(
            (v, e) -> {
              if (e != null) {
                // Decided and stored: applied again when the front end starts.
                LOG.error(
                    "kafka transactions: commit {} of {} not marked applied",
                    c.number(),
                    c.transactionalId(),
                    e);
              }
              return null;
            });
  }

  private CompletableFuture<Void> applyPartition(
      Commit c, PartitionRecords r, boolean recovering, long until) {
    StreamConfig config;
    List<KafkaRecords.Batch> batches = new ArrayList<>();
    try {
      config = broker.streamConfig(r.partition().stream());
      for (byte[] b : r.records()) {
        batches.addAll(
            KafkaRecords.decode(MemoryRecords.readableRecords(ByteBuffer.wrap(b)), config, true));
      }
    } catch (SwitchboardException | KafkaRecords.Invalid e) {
      LOG.error(
          "kafka transactions: commit {} of {}: records for {} skipped: {}",
          c.number(),
          c.transactionalId(),
          r.partition(),
          e.getMessage());
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    int seq = r.baseSequence();
    for (KafkaRecords.Batch b : batches) {
      int base = seq;
      seq += b.messages().size();
      chain =
          chain.thenCompose(
              v -> publish(c, r.partition(), b, base, recovering, until).thenApply(x -> null));
    }
    return chain;
  }

  private CompletableFuture<Void> publish(
      Commit c,
      PartitionKey p,
      KafkaRecords.Batch b,
      int sequence,
      boolean recovering,
      long until) {
    return broker
        .publishBatch(p.stream(), p.partition(), b.messages(), c.producerId(), c.epoch(), sequence)
        .handleAsync(
            (ack, e) -> {
              if (e == null) {
                return CompletableFuture.<Void>completedFuture(null);
              }
              SwitchboardException se = unwrap(e);
              ErrorCode code = se == null ? null : se.code();
              if (code == ErrorCode.OUT_OF_ORDER_SEQUENCE && recovering) {
                // Applied again in order: a batch older than those the partition remembers
                // was stored before the crash.
                return CompletableFuture.<Void>completedFuture(null);
              }
              boolean passing =
                  code == ErrorCode.PUBLISH_BACKPRESSURE
                      || code == ErrorCode.STREAM_FULL
                      || code == ErrorCode.PARTITION_CLOSED
                      || code == ErrorCode.LOG_CLOSED;
              if (passing && clock.getAsLong() < until) {
                CompletableFuture<Void> again = new CompletableFuture<>();
                executor.schedule(
                    () ->
                        publish(c, p, b, sequence, recovering, until)
                            .whenComplete((v, x) -> again.complete(null)),
                    100,
                    TimeUnit.MILLISECONDS);
                return again;
              }
              LOG.error(
                  "kafka transactions: commit {} of {}: records for {} from sequence {} not"
                      + " stored",
                  c.number(),
                  c.transactionalId(),
                  p,
                  sequence,
                  e);
              return CompletableFuture.<Void>completedFuture(null);
            },
            executor)
        .thenCompose(f -> f);
  }

  private CompletableFuture<Void> applyOffsets(Commit c, long until) {
    Map<String, Map<StreamPartition, OffsetCommit>> byGroup = new LinkedHashMap<>();
    for (Offset o : c.offsets()) {
      byGroup
          .computeIfAbsent(o.group(), g -> new LinkedHashMap<>())
          .put(
              new StreamPartition(o.partition().stream(), o.partition().partition()),
              new OffsetCommit(o.offset(), o.metadata()));
    }
    List<CompletableFuture<Void>> all = new ArrayList<>();
    byGroup.forEach((group, offsets) -> all.add(commitOffsets(c, group, offsets, until)));
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
  }

  private CompletableFuture<Void> commitOffsets(
      Commit c, String group, Map<StreamPartition, OffsetCommit> offsets, long until) {
    return broker
        .groups()
        .commit(group, Groups.TRANSACTION, null, offsets)
        .handleAsync(
            (v, e) -> {
              if (e == null) {
                return CompletableFuture.<Void>completedFuture(null);
              }
              SwitchboardException se = unwrap(e);
              if (se != null
                  && se.code() == ErrorCode.GROUP_BACKPRESSURE
                  && clock.getAsLong() < until) {
                CompletableFuture<Void> again = new CompletableFuture<>();
                executor.schedule(
                    () ->
                        commitOffsets(c, group, offsets, until)
                            .whenComplete((x, y) -> again.complete(null)),
                    100,
                    TimeUnit.MILLISECONDS);
                return again;
              }
              LOG.error(
                  "kafka transactions: commit {} of {}: offsets of group {} not committed",
                  c.number(),
                  c.transactionalId(),
                  group,
                  e);
              return CompletableFuture.<Void>completedFuture(null);
            },
            executor)
        .thenCompose(f -> f);
  }

  private static SwitchboardException unwrap(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e instanceof SwitchboardException se ? se : null;
  }

  // ------------------------------------------------------------------ timeouts

  /** Aborts transactions open past their timeout and fences their producer (a new epoch). */
  private void tick() {
    long now = clock.getAsLong();
    for (Txn t : txns.values()) {
      if (t.phase != Phase.ONGOING || now < t.deadline) {
        continue;
      }
      LOG.info("kafka transactions: {} open past its {} ms: aborted", t.id, t.timeoutMs);
      drop(t);
      t.lastCommitted = false;
      if (t.epoch >= Short.MAX_VALUE - 1) {
        t.producerId = newProducerId();
        t.epoch = 0;
      } else {
        t.epoch++;
      }
      t.sequences.clear();
      t.clientSequences.clear();
      t.phase = Phase.ENDING;
      Producer p = t.producer();
      broker
          .offload(
              () -> {
                log.producer(p);
                return null;
              },
              executor)
          .whenComplete(
              (v, e) -> {
                t.phase = Phase.EMPTY;
                if (e != null) {
                  LOG.error("kafka transactions: fencing of {} not recorded", t.id, e);
                }
              });
    }
  }
}
