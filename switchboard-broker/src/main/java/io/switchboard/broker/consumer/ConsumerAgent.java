package io.switchboard.broker.consumer;

import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.consumer.AckTracker.Tracked;
import io.switchboard.broker.stream.Agent;
import io.switchboard.broker.stream.PartitionReader;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.Subjects;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Record;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jctools.queues.MpscArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner of one durable consumer's state: which messages were delivered, to be redelivered, or
 * done. The single writer of that state; it reads the stream's partition logs directly (reads are
 * lock-free) and never writes them.
 *
 * <p>Thread safety: {@link #fetch}, {@link #ack}, {@link #nack} and {@link #inProgress} post to a
 * bounded MPSC queue from any thread; {@link #doWork()} runs on one runner thread. Each duty cycle
 * handles posted commands, expires ack deadlines, serves waiting fetches (redeliveries first, then
 * new messages), and hands a state snapshot to the persister when something changed.
 *
 * <p>State per partition is the next offset to deliver for the first time plus the offsets below it
 * still unacknowledged (in flight to a member, or waiting to be redelivered), with their delivery
 * counts: the ack floor is the lowest of them, and everything else below {@code next} is done.
 * Unacknowledged offsets are bounded by {@code maxAckPending}; at the bound no new message is
 * delivered until some are acknowledged.
 *
 * <p>Delivery modes: {@link DeliveryMode#SHARED}, each message in flight to one fetch at a time, a
 * message whose ack deadline passes going to whichever member fetches next; {@link
 * DeliveryMode#EXCLUSIVE} and {@link DeliveryMode#FAILOVER}, one active member at a time, in offset
 * order (unacknowledged messages first), the others refused or waiting as standbys.
 */
public final class ConsumerAgent implements Agent {
  private static final Logger LOG = LoggerFactory.getLogger(ConsumerAgent.class);

  /** Header names on dead-lettered messages. */
  public static final String DLQ_REASON = "sb-dlq-reason";

  public static final String DLQ_DELIVERIES = "sb-dlq-deliveries";
  public static final String DLQ_STREAM = "sb-dlq-stream";
  public static final String DLQ_PARTITION = "sb-dlq-partition";
  public static final String DLQ_OFFSET = "sb-dlq-offset";
  public static final String DLQ_LAST_ERROR = "sb-dlq-last-error";

  /** Waiting fetches per consumer: each holds a future and a deadline. */
  static final int MAX_WAITING_FETCHES = 1024;

  /** Commands per duty cycle. */
  static final int MAX_COMMANDS_PER_CYCLE = 4096;

  /** Largest message a key-shared consumer keeps in memory while it waits for its key's owner. */
  static final int PARKED_MESSAGE_MAX_BYTES = 64 * 1024;

  /** Bytes read from a partition per look for new messages. */
  static final int READ_BYTES = 256 * 1024;

  private static final long RETRY_DEAD_LETTER_MS = 1000;

  /**
   * With a {@link DropHook}: how often the head is looked at when nothing was appended (expiry),
   * and how often the hook's limits are asked again.
   */
  public static final long DROP_SWEEP_MS = 100;

  /** Messages handed to the drop hook per duty cycle at most. */
  static final int MAX_DROPS_PER_CYCLE = 1024;

  private sealed interface Command {}

  private record Fetch(
      String member, int max, long deadlineMs, CompletableFuture<List<Delivery>> out)
      implements Command {}

  private record Ack(int partition, long offset, CompletableFuture<Boolean> out)
      implements Command {}

  private record Nack(
      int partition,
      long offset,
      int deliveryCount,
      long delayMs,
      String error,
      CompletableFuture<Boolean> out)
      implements Command {}

  private record Touch(
      int partition, long offset, int deliveryCount, CompletableFuture<Boolean> out)
      implements Command {}

  private record DeadLettered(int partition, long offset, boolean ok) implements Command {}

  private record Leave(String member, CompletableFuture<Boolean> out) implements Command {}

  private record Register(PushSubscription sink, CompletableFuture<Boolean> out)
      implements Command {}

  private record Settle(List<Settlement> entries, CompletableFuture<List<Boolean>> out)
      implements Command {}

  private record AckUpTo(String member, long sequence, CompletableFuture<Integer> out)
      implements Command {}

  /** Push members registered at most; a registration past it is refused. */
  static final int MAX_SINKS = 1024;

  /**
   * Messages pushed to one member per round of a duty cycle, so one busy member cannot starve
   * others.
   */
  static final int MAX_PUSH_PER_CYCLE = 256;

  /**
   * Messages pushed per duty cycle over every member, in rounds: more than a partition appends per
   * cycle (1,024 publishes), so a consumer sharing a runner with its stream can catch up with it.
   */
  static final int PUSH_BUDGET_PER_CYCLE = 4096;

  private final String stream;
  private final ConsumerConfig config;
  private final List<PartitionLog> logs;
  private final Clock clock;
  private final Function<Message, CompletableFuture<?>> deadLetterPublisher;
  private final Consumer<ConsumerState> persister;
  private final long persistIntervalMs;
  private final AckTracker[] cursors;

  /** Per partition, what the consumer reads new messages with (each batch decoded once). */
  private final PartitionReader[] readers;

  private final MpscArrayQueue<Command> commands = new MpscArrayQueue<>(16 * 1024);
  private final ArrayDeque<Fetch> waiting = new ArrayDeque<>();

  /** Outcomes of dead-letter publishes, handled by the owner like commands. */
  private final java.util.concurrent.ConcurrentLinkedQueue<DeadLettered> deadLetterResults =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  /**
   * Push members, in registration order; owner thread only. Closed ones leave at the next cycle.
   */
  private final List<PushSubscription> sinks = new ArrayList<>();

  private int nextSink;

  /**
   * Whether a fetch waits or a member is pushed to: only then does an append wake this agent.
   * Written by the owner at the end of each cycle.
   */
  private volatile boolean demand;

  /** Stops the partitions' append notices; closed by {@link #finish()}. */
  private final List<AutoCloseable> appendNotices = new ArrayList<>();

  private volatile Runnable wakeUp = () -> {};
  private volatile boolean closed;
  private volatile int unackedTotal;

  /** Per partition, the lowest offset not yet done; published for work-queue retention. */
  private final java.util.concurrent.atomic.AtomicLongArray floors;

  private int nextPartition;
  private long nextDueMs = Long.MAX_VALUE;

  /** Delivery numbers, and each member's deliveries in order for cumulative acks. */
  private final DeliveryLog deliveryLog;

  /** Every entry's due time, in order: expiry looks only at what is due. */
  private final DeliveryTimers timers =
      new DeliveryTimers(
          new DeliveryTimers.Owner() {
            @Override
            public boolean isCurrent(int partition, long offset, Object tracked, long dueMs) {
              return cursors[partition].get(offset) == tracked
                  && ((Tracked) tracked).dueMs == dueMs;
            }

            @Override
            public int live() {
              return unackedTotal;
            }
          });

  private boolean dirty;
  private long lastPersistMs;
  private volatile long deadLettered;
  private volatile long expired;

  /** Exclusive and failover modes: the member allowed to fetch, and when it last showed up. */
  private String activeMember;

  /** Keyed modes: which member each key (or partition) goes to, and which members are live. */
  private final KeyRouter router;

  /**
   * Keyed modes: which keys are held in flight or awaiting dead letters, and by whom; else null.
   */
  private final KeyHolds holds;

  /**
   * Keyed modes: entries restored without their key (partition, offset); worked out by the first
   * delivery pass, before any key hold is asked about.
   */
  private final List<long[]> unkeyed = new ArrayList<>();

  private long activeSeenMs;

  /** Where dropped messages go (see {@link DropHook}); null: expired ones go silently. */
  private volatile DropHook dropHook;

  private volatile java.util.concurrent.Executor dropExecutor;

  /** The hook's limits for this consumer, asked every {@link #DROP_SWEEP_MS}; owner only. */
  private DropHook.Limits dropLimits;

  private long nextDropSweepMs;

  /** Per partition: the readable end at the last sweep, and the entries being handed over. */
  private final long[] sweptEnd;

  private final int[] dropping;

  /**
   * Hand-overs waiting for the executor, run one at a time in the order made, so dropped messages
   * reach the hook (and its dead-letter exchange) in queue order. Bounded by maxAckPending.
   */
  private record HandOver(int partition, long offset, Runnable call) {}

  private final java.util.concurrent.ConcurrentLinkedQueue<HandOver> handOvers =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private final java.util.concurrent.atomic.AtomicBoolean handingOver =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * @param logs the stream's partition logs, by index (read only)
   * @param state where to resume (see {@link ConsumerState}); each unacknowledged offset is treated
   *     as a delivery that just timed out: redelivered (after the back-off) with its count kept, or
   *     dead-lettered when it had reached {@code maxDeliver}
   * @param deadLetterPublisher publishes a dead-lettered message
   * @param persister receives a snapshot when the state changed, at most every {@code
   *     persistIntervalMs}
   */
  public ConsumerAgent(
      String stream,
      ConsumerConfig config,
      List<PartitionLog> logs,
      ConsumerState state,
      Clock clock,
      Function<Message, CompletableFuture<?>> deadLetterPublisher,
      Consumer<ConsumerState> persister,
      long persistIntervalMs) {
    this.stream = stream;
    this.config = config;
    this.logs = List.copyOf(logs);
    this.clock = clock;
    this.deadLetterPublisher = deadLetterPublisher;
    this.persister = persister;
    this.persistIntervalMs = persistIntervalMs;
    this.cursors = new AckTracker[logs.size()];
    this.router = new KeyRouter(config.mode(), logs.size(), config.ackTimeoutMs());
    this.holds = KeyRouter.keyed(config.mode()) ? new KeyHolds() : null;
    this.readers = new PartitionReader[logs.size()];
    for (int p = 0; p < readers.length; p++) {
      int partition = p;
      readers[p] =
          new PartitionReader(
              this.logs.get(p),
              READ_BYTES,
              (offset, e) ->
                  LOG.warn(
                      "SB-BRK-2011 {}/{}: reading partition {} at {} failed: {}",
                      stream,
                      config.name(),
                      partition,
                      offset,
                      e.getMessage()));
    }
    this.floors = new java.util.concurrent.atomic.AtomicLongArray(logs.size());
    this.sweptEnd = new long[logs.size()];
    this.dropping = new int[logs.size()];
    long now = clock.nowMs();
    this.deliveryLog = new DeliveryLog(now, this::isLive);
    for (int p = 0; p < cursors.length; p++) {
      boolean saved = p < state.partitions().size();
      cursors[p] =
          new AckTracker(saved ? state.partitions().get(p).next() : 0, holds, config.maxDeliver());
      if (saved) {
        ConsumerState.PartitionState ps = state.partitions().get(p);
        for (long[] u : ps.unacked()) {
          // The delivery a restart interrupted counts as timed out now: the first duty cycle
          // gives it back like any timeout (dead-letter at the limit, else redeliver).
          Tracked tr = new Tracked((int) u[1], true, now);
          tr.lastError = "consumer restarted";
          if (config.mode() == DeliveryMode.GROUP) {
            tr.keyHash = p;
            tr.keyKnown = true;
          }
          cursors[p].add(u[0], tr);
          if (!tr.keyKnown && keyed()) {
            unkeyed.add(new long[] {p, u[0]});
          }
          unackedTotal++;
          timers.schedule(p, u[0], tr, now);
        }
      }
    }
    nextDueMs = now;
    publishFloors();
    for (PartitionLog log : this.logs) {
      appendNotices.add(
          log.onAppend(
              () -> {
                if (demand) {
                  wakeUp.run();
                }
              }));
    }
  }

  /**
   * Hands the messages this consumer drops from its head to {@code hook} (called on {@code
   * executor}) from now on; null: drops go silently. Any thread.
   */
  public void dropHook(DropHook hook, java.util.concurrent.Executor executor) {
    this.dropExecutor = executor;
    this.dropHook = hook;
    wakeUp.run();
  }

  /** Everything below this offset of {@code partition} is done (acknowledged or filtered out). */
  public long ackFloor(int partition) {
    return floors.get(partition);
  }

  private void publishFloors() {
    for (int p = 0; p < cursors.length; p++) {
      floors.set(p, cursors[p].floor());
    }
  }

  public String name() {
    return config.name();
  }

  public ConsumerConfig config() {
    return config;
  }

  @Override
  public void onWork(Runnable wakeUp) {
    this.wakeUp = wakeUp;
  }

  // ------------------------------------------------------------------ proxy side (any thread)

  /**
   * Fetches up to {@code max} messages for {@code member}, waiting up to {@code waitMs} for at
   * least one. Completes with an empty list when none came in time; fails with {@link
   * ErrorCode#TOO_MANY_WAITING_FETCHES}, {@link ErrorCode#CONSUMER_BACKPRESSURE} (every command
   * posted to a full queue fails so) or {@link ErrorCode#CONSUMER_CLOSED}.
   */
  public CompletableFuture<List<Delivery>> fetch(String member, int max, long waitMs) {
    CompletableFuture<List<Delivery>> out = new CompletableFuture<>();
    if (max < 1) {
      out.completeExceptionally(
          SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "fetch size must be >= 1"));
      return out;
    }
    if (member == null || member.isEmpty()) {
      out.completeExceptionally(
          SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "a fetch must name its member (front ends name one)"));
      return out;
    }
    post(new Fetch(member, max, clock.nowMs() + Math.max(0, waitMs), out), out);
    return out;
  }

  /**
   * Acknowledges a message; completes with whether it was still unacknowledged. A late ack (after
   * the deadline, even after a redelivery) still counts: the work was done.
   */
  public CompletableFuture<Boolean> ack(int partition, long offset) {
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    post(new Ack(partition, offset, out), out);
    return out;
  }

  /**
   * Gives delivery number {@code deliveryCount} of a message back for redelivery after {@code
   * delayMs} (negative: the back-off schedule), noting {@code error} for the dead-letter headers.
   * Completes with false when that delivery is no longer the live one (it timed out, or went to
   * someone else since): a stale nack never disturbs a newer delivery.
   */
  public CompletableFuture<Boolean> nack(
      int partition, long offset, int deliveryCount, long delayMs, String error) {
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    post(new Nack(partition, offset, deliveryCount, delayMs, error, out), out);
    return out;
  }

  /**
   * Says delivery number {@code deliveryCount} is still being worked on: its ack deadline starts
   * again. False when that delivery is no longer the live one.
   */
  public CompletableFuture<Boolean> inProgress(int partition, long offset, int deliveryCount) {
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    post(new Touch(partition, offset, deliveryCount, out), out);
    return out;
  }

  /**
   * Settles many deliveries in one command (one hand-over to the owner, however many): acks, nacks
   * and in-progress notes as {@link #ack}, {@link #nack} and {@link #inProgress} would, in order.
   * Completes with each one's result.
   */
  public CompletableFuture<List<Boolean>> settle(List<Settlement> entries) {
    CompletableFuture<List<Boolean>> out = new CompletableFuture<>();
    post(new Settle(List.copyOf(entries), out), out);
    return out;
  }

  /**
   * Acknowledges, in one command, every delivery to {@code member} that is still unacknowledged and
   * was made no later than delivery number {@code sequence} ({@link Delivery#sequence()}), whatever
   * its partition: AMQP's {@code basic.ack} with {@code multiple=true}. Deliveries made to other
   * members, made later (a redelivery included), or no longer live (acknowledged, given back or
   * timed out) are left alone. Completes with how many were acknowledged. Costs the deliveries it
   * passes, not the consumer's unacknowledged messages.
   */
  public CompletableFuture<Integer> ackUpTo(String member, long sequence) {
    CompletableFuture<Integer> out = new CompletableFuture<>();
    if (member == null || member.isEmpty()) {
      out.completeExceptionally(
          SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a cumulative ack names its member"));
      return out;
    }
    post(new AckUpTo(member, sequence, out), out);
    return out;
  }

  /**
   * Pushes this consumer's messages to {@code handler} as member {@code member}, at most {@code
   * credits} unacknowledged at once, as they are appended (see {@link PushSubscription}).
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} for fewer than one credit or no
   *     member, {@link ErrorCode#CONSUMER_CLOSED}
   */
  public PushSubscription push(String member, int credits, Consumer<Delivery> handler) {
    return pushBatches(member, credits, PushSubscription.each(handler));
  }

  /**
   * {@link #push} with each duty cycle's deliveries for the member handed over together, so a front
   * end can hop to its event loop and flush once per batch rather than per message.
   */
  public PushSubscription pushBatches(
      String member, int credits, Consumer<List<Delivery>> handler) {
    PushSubscription sink = new PushSubscription(this, member, credits, handler);
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    post(new Register(sink, out), out);
    if (out.isCompletedExceptionally()) {
      try {
        out.join();
      } catch (java.util.concurrent.CompletionException e) {
        throw e.getCause() instanceof SwitchboardException se ? se : e;
      }
    }
    return sink;
  }

  /** Something changed for a push member (credits back, closed): look again soon. Any thread. */
  void wake() {
    wakeUp.run();
  }

  /** A push member closed: its sink leaves at the next cycle. Any thread. */
  void unregister(PushSubscription sink) {
    wakeUp.run();
  }

  /**
   * Says {@code member} is gone for good (its connection closed, and its name was that
   * connection's): an exclusive or failover consumer's next member may take over at once, and the
   * messages in flight to it are given back for redelivery now rather than at their ack timeout.
   * Completes with whether the member held anything.
   */
  public CompletableFuture<Boolean> leave(String member) {
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    post(new Leave(member, out), out);
    return out;
  }

  private void post(Command c, CompletableFuture<?> out) {
    if (closed) {
      out.completeExceptionally(SwitchboardException.of(ErrorCode.CONSUMER_CLOSED, config.name()));
    } else if (!commands.offer(c)) {
      out.completeExceptionally(
          SwitchboardException.of(
              ErrorCode.CONSUMER_BACKPRESSURE, config.name(), commands.capacity()));
    } else {
      wakeUp.run();
    }
  }

  // ------------------------------------------------------------------ owner side

  @Override
  public int doWork() {
    long now = clock.nowMs();
    int work = 0;
    DeadLettered d;
    while ((d = deadLetterResults.poll()) != null) {
      work++;
      handle(d, now);
    }
    Command c;
    while (work < MAX_COMMANDS_PER_CYCLE && (c = commands.relaxedPoll()) != null) {
      work++;
      try {
        handle(c, now);
      } catch (RuntimeException e) {
        // A fault in one command fails that command at once; the others go on.
        LOG.error("SB-BRK-2004 {}/{}: {} failed", stream, config.name(), name(c), e);
        fail(c, internal(e));
      }
    }
    if (now >= nextDueMs) {
      work += expire(now);
    }
    work += sweepHead(now);
    work += serveWaiting(now);
    work += serveSinks(now);
    demand = !waiting.isEmpty() || !sinks.isEmpty();
    if (dirty) {
      publishFloors();
    }
    if (dirty && now - lastPersistMs >= persistIntervalMs) {
      persister.accept(snapshot());
      dirty = false;
      lastPersistMs = now;
      work++;
    }
    return work;
  }

  private void handle(Command c, long now) {
    switch (c) {
      case Fetch f -> {
        if (closed) {
          f.out()
              .completeExceptionally(
                  SwitchboardException.of(ErrorCode.CONSUMER_CLOSED, config.name()));
        } else if (!admit(f, now)) {
          return;
        } else if (waiting.size() >= MAX_WAITING_FETCHES) {
          f.out()
              .completeExceptionally(
                  SwitchboardException.of(
                      ErrorCode.TOO_MANY_WAITING_FETCHES, config.name(), MAX_WAITING_FETCHES));
        } else {
          waiting.add(f);
        }
      }
      case Ack a -> a.out().complete(applyAck(a.partition(), a.offset()));
      case Nack n ->
          n.out()
              .complete(
                  applyNack(
                      n.partition(), n.offset(), n.deliveryCount(), n.delayMs(), n.error(), now));
      case Touch t ->
          t.out().complete(applyTouch(t.partition(), t.offset(), t.deliveryCount(), now));
      case Leave l -> l.out().complete(applyLeave(l.member(), now));
      case AckUpTo u -> u.out().complete(applyAckUpTo(u.member(), u.sequence()));
      case Settle st -> {
        List<Boolean> results = new ArrayList<>(st.entries().size());
        for (Settlement e : st.entries()) {
          results.add(
              switch (e.kind()) {
                case ACK -> applyAck(e.partition(), e.offset());
                case NACK ->
                    applyNack(
                        e.partition(), e.offset(), e.deliveryCount(), e.delayMs(), e.error(), now);
                case IN_PROGRESS -> applyTouch(e.partition(), e.offset(), e.deliveryCount(), now);
              });
        }
        st.out().complete(results);
      }
      case Register r -> {
        if (closed) {
          r.out()
              .completeExceptionally(
                  SwitchboardException.of(ErrorCode.CONSUMER_CLOSED, config.name()));
        } else if (sinks.size() >= MAX_SINKS) {
          LOG.warn(
              "SB-BRK-2005 {}/{}: {} push members already (the limit); {} is not pushed to",
              stream,
              config.name(),
              MAX_SINKS,
              r.sink().member());
          r.sink().close();
          r.out().complete(false);
        } else {
          sinks.add(r.sink());
          r.out().complete(true);
        }
      }
      case DeadLettered d -> {
        Tracked tr = tracked(d.partition(), d.offset());
        if (tr != null && tr.deadLettering) {
          if (d.ok()) {
            remove(d.partition(), d.offset());
            deadLettered++;
          } else {
            tr.deadLettering = false;
            cursors[d.partition()].rehold(tr);
            schedule(d.partition(), d.offset(), tr, now + RETRY_DEAD_LETTER_MS);
          }
        }
      }
    }
  }

  /**
   * The runner saw a duty cycle throw outside any one command (timers, serving waiting fetches,
   * persisting): fails every fetch waiting here and every command queued at that moment with {@link
   * ErrorCode#INTERNAL}, so no caller waits on a cycle that may throw again. Owner thread only; the
   * next cycle serves new work as usual.
   */
  @Override
  public void dutyCycleFailed(RuntimeException e) {
    SwitchboardException error = internal(e);
    // Only what was queued when the cycle failed: a command posted once a caller has seen this
    // failure (a retry) is served by the next cycle.
    int queued = commands.size();
    for (Fetch f : waiting) {
      f.out().completeExceptionally(error);
    }
    waiting.clear();
    Command c;
    for (int i = 0; i < queued && (c = commands.relaxedPoll()) != null; i++) {
      fail(c, error);
    }
  }

  private static SwitchboardException internal(RuntimeException e) {
    return e instanceof SwitchboardException se
        ? se
        : SwitchboardException.of(ErrorCode.INTERNAL, e.toString());
  }

  private static String name(Command c) {
    return c.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
  }

  /** Fails a command's caller; an internal command has none (its work is retried by timers). */
  private void fail(Command c, SwitchboardException error) {
    switch (c) {
      case Fetch f -> f.out().completeExceptionally(error);
      case Ack a -> a.out().completeExceptionally(error);
      case Nack n -> n.out().completeExceptionally(error);
      case Touch t -> t.out().completeExceptionally(error);
      case Leave l -> l.out().completeExceptionally(error);
      case Register r -> r.out().completeExceptionally(error);
      case Settle st -> st.out().completeExceptionally(error);
      case AckUpTo u -> u.out().completeExceptionally(error);
      case DeadLettered d -> {
        Tracked tr = tracked(d.partition(), d.offset());
        if (tr != null && tr.deadLettering) {
          tr.deadLettering = false; // try the dead letter again after its timer
          cursors[d.partition()].rehold(tr);
          schedule(d.partition(), d.offset(), tr, clock.nowMs() + RETRY_DEAD_LETTER_MS);
        }
      }
    }
  }

  private boolean applyLeave(String member, long now) {
    deliveryLog.forget(member);
    boolean held = member.equals(activeMember);
    if (held) {
      activeMember = null;
    }
    held |= router.forget(member);
    for (Iterator<Fetch> it = waiting.iterator(); it.hasNext(); ) {
      Fetch f = it.next();
      if (f.member().equals(member)) {
        f.out().complete(List.of());
        it.remove();
      }
    }
    for (int p = 0; p < cursors.length; p++) {
      for (Map.Entry<Long, Tracked> e : cursors[p].inFlightTo(member)) {
        Tracked tr = e.getValue();
        tr.lastError = "member " + member + " left";
        giveBack(p, e.getKey(), tr, now, 0);
        held = true;
      }
    }
    return held;
  }

  private boolean singleReader() {
    return config.mode() == DeliveryMode.EXCLUSIVE || config.mode() == DeliveryMode.FAILOVER;
  }

  /**
   * Exclusive and failover modes: who may fetch. The active member stays active while it fetches
   * (or fetched within the ack timeout); after that the next member to ask takes over. In exclusive
   * mode anyone else is refused; in failover mode they wait as standbys.
   */
  private boolean admit(Fetch f, long now) {
    if (!singleReader()) {
      return true;
    }
    if (activeMember != null && now - activeSeenMs > config.ackTimeoutMs() && !activeWaiting()) {
      activeMember = null; // gone: its unacknowledged messages time out and go to the next
    }
    if (activeMember == null) {
      activeMember = f.member();
    }
    if (activeMember.equals(f.member())) {
      activeSeenMs = now;
      return true;
    }
    if (config.mode() == DeliveryMode.EXCLUSIVE) {
      f.out()
          .completeExceptionally(
              SwitchboardException.of(
                  ErrorCode.CONSUMER_EXCLUSIVE, config.name(), activeMember, f.member()));
      return false;
    }
    return true; // failover standby: waits in line
  }

  private boolean activeWaiting() {
    for (Fetch f : waiting) {
      if (f.member().equals(activeMember) && !f.out().isDone()) {
        return true;
      }
    }
    for (PushSubscription s : sinks) {
      if (!s.isClosed() && s.member().equals(activeMember)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Pushes to the members that have credits, starting with a different one each cycle, in rounds of
   * at most {@link #MAX_PUSH_PER_CYCLE} per member, until they have what they can take or the
   * cycle's {@link #PUSH_BUDGET_PER_CYCLE} is spent. A member pushed to counts as alive (exclusive
   * and failover: it holds or may take over the consumer; key-shared and group: its keys stay with
   * it), whether or not it has credits now.
   */
  private int serveSinks(long now) {
    if (sinks.isEmpty()) {
      return 0;
    }
    sinks.removeIf(PushSubscription::isClosed);
    int n = sinks.size();
    int pushed = 0;
    int round;
    do {
      round = pushRound(now, n);
      pushed += round;
    } while (round > 0 && pushed < PUSH_BUDGET_PER_CYCLE);
    nextSink = n == 0 ? 0 : (nextSink + 1) % n;
    return pushed;
  }

  private int pushRound(long now, int n) {
    int pushed = 0;
    boolean anything = anythingToDeliver(now);
    for (int i = 0; i < n; i++) {
      PushSubscription s = sinks.get((nextSink + i) % n);
      String member = s.member();
      if (keyed()) {
        router.seen(member, now);
      }
      if (singleReader()) {
        if (activeMember == null
            || (!member.equals(activeMember)
                && now - activeSeenMs > config.ackTimeoutMs()
                && !activeWaiting())) {
          activeMember = member; // the active member went silent: this one takes over
        }
        if (!member.equals(activeMember)) {
          continue;
        }
        activeSeenMs = now;
      }
      int want = Math.min(s.wanted(), MAX_PUSH_PER_CYCLE);
      if (want <= 0 || !anything) {
        continue;
      }
      List<Delivery> got = collect(member, want, now);
      if (!got.isEmpty()) {
        s.deliver(got);
        pushed += got.size();
      }
    }
    return pushed;
  }

  /**
   * Whether a fetch could find anything: a message not yet read, or one waiting for redelivery.
   * Cheap (a look per partition), so idle members cost nothing per cycle.
   */
  private boolean anythingToDeliver(long now) {
    for (int p = 0; p < cursors.length; p++) {
      AckTracker c = cursors[p];
      if (c.hasIdle() || c.next() < logs.get(p).readableEndOffset()) {
        return true;
      }
    }
    return false;
  }

  private Tracked tracked(int partition, long offset) {
    if (partition < 0 || partition >= cursors.length) {
      return null;
    }
    return cursors[partition].get(offset);
  }

  private boolean applyTouch(int partition, long offset, int deliveryCount, long now) {
    Tracked tr = tracked(partition, offset);
    boolean ok = tr != null && tr.inFlight && tr.deliveries == deliveryCount;
    if (ok) {
      schedule(partition, offset, tr, now + config.ackTimeoutMs());
    }
    return ok;
  }

  private boolean applyAck(int partition, long offset) {
    if (partition < 0 || partition >= cursors.length) {
      return false;
    }
    if (config.ackPolicy() == AckPolicy.CUMULATIVE) {
      int acked = cursors[partition].ackInFlightUpTo(offset);
      unackedTotal -= acked;
      dirty |= acked > 0;
      return acked > 0;
    }
    Tracked tr = tracked(partition, offset);
    if (tr == null || tr.deadLettering) {
      return false;
    }
    remove(partition, offset);
    return true;
  }

  private int applyAckUpTo(String member, long sequence) {
    return deliveryLog.upTo(member, sequence, this::remove);
  }

  /** Whether {@code tr} is still the live, unacknowledged delivery {@code sequence} to member. */
  private boolean isLive(int partition, long offset, Tracked tr, long sequence, String member) {
    return cursors[partition].get(offset) == tr
        && tr.inFlight
        && !tr.deadLettering
        && tr.sequence == sequence
        && member.equals(tr.member);
  }

  /** Numbers a delivery and, when it is tracked, notes it for {@link #ackUpTo}. */
  private long numberDelivery(String member, int partition, long offset, Tracked tr) {
    return deliveryLog.number(member, partition, offset, tr, unackedTotal);
  }

  /** Keys held now in keyed modes (tests: holds are taken back). */
  int heldKeys() {
    return holds == null ? 0 : holds.size();
  }

  /** Entries kept for cumulative acks (tests: the bound). */
  long sentEntries() {
    return deliveryLog.entries();
  }

  private boolean applyNack(
      int partition, long offset, int deliveryCount, long delayMs, String error, long now) {
    Tracked tr = tracked(partition, offset);
    if (tr == null || !tr.inFlight || tr.deliveries != deliveryCount) {
      return false;
    }
    tr.lastError = error;
    giveBack(partition, offset, tr, now, delayMs);
    return true;
  }

  private void remove(int partition, long offset) {
    Tracked tr = cursors[partition].get(offset);
    if (tr != null && tr.dropReason != null) {
      dropping[partition]--; // however it goes: handed over, acknowledged, gone from the stream
    }
    if (cursors[partition].remove(offset)) {
      unackedTotal--;
      dirty = true;
    }
  }

  /** A delivery came back (nack or timeout): dead-letter it, or schedule its redelivery. */
  private void giveBack(int partition, long offset, Tracked tr, long now, long delayMs) {
    cursors[partition].returned(offset, tr);
    if (config.maxDeliver() > 0 && tr.deliveries >= config.maxDeliver()) {
      deadLetter(partition, offset, tr);
      return;
    }
    long delay = delayMs >= 0 ? delayMs : backoff(tr.deliveries);
    schedule(partition, offset, tr, now + delay);
  }

  /**
   * Whether an entry is being dead-lettered, or has had its deliveries and waits to be (its dead
   * letter was refused, say for back-pressure, and is tried again on its timer): either way it is
   * never delivered again.
   */
  private boolean awaitsDeadLetter(Tracked tr) {
    return tr.deadLettering
        || tr.dropReason != null
        || (!tr.inFlight && config.maxDeliver() > 0 && tr.deliveries >= config.maxDeliver());
  }

  private long backoff(int deliveries) {
    List<Long> b = config.backoffMs();
    return b.isEmpty() || deliveries < 1 ? 0 : b.get(Math.min(deliveries, b.size()) - 1);
  }

  private void deadLetter(int partition, long offset, Tracked tr) {
    if (config.deadLetterSubject() == null) {
      remove(partition, offset);
      deadLettered++;
      return;
    }
    Message original = read(partition, offset);
    if (original == null) {
      remove(partition, offset); // gone from the stream (retention): nothing left to send
      return;
    }
    tr.deadLettering = true;
    cursors[partition].rehold(tr);
    Message dlq =
        original
            .withSubject(config.deadLetterSubject())
            .withHeader(DLQ_REASON, bytes("max deliveries (" + config.maxDeliver() + ") reached"))
            .withHeader(DLQ_DELIVERIES, bytes(Integer.toString(tr.deliveries)))
            .withHeader(DLQ_STREAM, bytes(stream))
            .withHeader(DLQ_PARTITION, bytes(Integer.toString(partition)))
            .withHeader(DLQ_OFFSET, bytes(Long.toString(offset)));
    if (tr.lastError != null) {
      dlq = dlq.withHeader(DLQ_LAST_ERROR, bytes(tr.lastError));
    }
    CompletableFuture<?> published;
    try {
      published = deadLetterPublisher.apply(dlq);
    } catch (RuntimeException e) {
      published = CompletableFuture.failedFuture(e);
    }
    published.whenComplete(
        (r, e) -> {
          if (e != null) {
            LOG.warn(
                "SB-BRK-2010 {}/{}: dead-lettering {}:{} failed; will retry",
                stream,
                config.name(),
                partition,
                offset,
                e);
          }
          // Its own queue, never full, and bounded all the same: at most one result per message
          // being dead-lettered, and those are bounded by maxAckPending. A full command queue
          // must not strand one (DeadLetterBackpressureTest).
          deadLetterResults.add(new DeadLettered(partition, offset, e == null));
          wakeUp.run();
        });
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Sets an entry's due time and schedules it. */
  private void schedule(int partition, long offset, Tracked tr, long dueMs) {
    tr.dueMs = dueMs;
    timers.schedule(partition, offset, tr, dueMs);
    nextDueMs = Math.min(nextDueMs, dueMs);
  }

  /**
   * Times out the deliveries whose ack deadline passed, taking only due entries from the timers (an
   * entry given back earlier simply becomes available to fetches when its due time comes).
   */
  private int expire(long now) {
    int expired = 0;
    DeliveryTimers.Timer t;
    while ((t = timers.pollDue(now)) != null) {
      Tracked tr = (Tracked) t.tracked();
      if (tr.inFlight && !tr.deadLettering) {
        tr.lastError = tr.lastError == null ? "ack timeout" : tr.lastError;
        giveBack(t.partition(), t.offset(), tr, now, -1);
        expired++;
      } else if (!tr.deadLettering && tr.dropReason != null) {
        Message m = read(t.partition(), t.offset()); // its hand-over failed: try again
        if (m == null) {
          remove(t.partition(), t.offset()); // gone from the stream meanwhile
        } else {
          handOver(t.partition(), t.offset(), tr, m, tr.dropReason);
        }
        expired++;
      } else if (!tr.deadLettering && awaitsDeadLetter(tr)) {
        deadLetter(t.partition(), t.offset(), tr); // its dead letter failed: try again
        expired++;
      }
    }
    nextDueMs = timers.nextDueMs();
    return expired;
  }

  private int serveWaiting(long now) {
    int served = 0;
    for (Iterator<Fetch> it = waiting.iterator(); it.hasNext(); ) {
      Fetch f = it.next();
      if (f.out().isDone()) {
        it.remove();
        continue;
      }
      if (singleReader() && !f.member().equals(activeMember)) {
        if (activeMember != null
            && now - activeSeenMs > config.ackTimeoutMs()
            && !activeWaiting()) {
          activeMember = f.member(); // the active member went silent: this standby takes over
        } else {
          if (now >= f.deadlineMs() || closed) {
            f.out().complete(List.of());
            it.remove();
            served++;
          }
          continue;
        }
      }
      if (singleReader()) {
        activeSeenMs = now; // waiting in a fetch counts as alive
      }
      if (keyed()) {
        router.seen(f.member(), now); // waiting in a fetch counts as alive
      }
      List<Delivery> got = collect(f.member(), f.max(), now);
      if (!got.isEmpty() || now >= f.deadlineMs() || closed) {
        f.out().complete(got);
        it.remove();
        served++;
      } else if (!singleReader()) {
        break; // nothing to give: later fetches would get nothing either
      }
    }
    return served;
  }

  /** Up to {@code max} deliveries: due redeliveries first, then new messages. */
  private List<Delivery> collect(String member, int max, long now) {
    List<Delivery> out = new ArrayList<>();
    boolean keyShared = keyed();
    // Key-shared (and group, where the key is the partition): keys that may not go to this member
    // now (owned elsewhere, in flight to someone
    // else, or waiting behind an earlier message of the same key). Built in offset order.
    // Keys another member holds (anywhere in the stream) are off limits too: asked of the key
    // holds, which are kept as entries change (see isBlocked).
    Set<Long> blocked = keyShared ? new HashSet<>() : Set.of();
    List<String> live = keyShared ? router.live(member, now) : List.of();
    if (keyShared) {
      ensureKeys();
    }
    for (int p = 0; p < cursors.length && out.size() < max; p++) {
      // Only idle entries can go out again, so only they are walked, in offset order and in place.
      // (Key-shared: what is in flight blocks its key for other members, which the pass above
      // noted; what is in flight to this member blocks nothing.)
      AckTracker cursor = cursors[p];
      for (long offset = cursor.firstIdle();
          offset != AckTracker.NONE && out.size() < max;
          offset = cursor.idleAfter(offset)) {
        Tracked tr = cursor.get(offset);
        if (keyShared
            && (awaitsDeadLetter(tr)
                || tr.dueMs > now
                || isBlocked(tr.keyHash, member, blocked)
                || !member.equals(router.ownerOf(tr.keyHash, live)))) {
          blocked.add(tr.keyHash);
          continue;
        }
        if (!awaitsDeadLetter(tr) && tr.dueMs <= now) {
          Message m = tr.parked != null ? tr.parked : read(p, offset);
          tr.parked = null;
          if (m == null || isExpired(m, now)) {
            if (m != null) {
              expired++;
              if (dropLimits != null) {
                startDrop(p, offset, tr, m, DropHook.Reason.EXPIRED);
                continue;
              }
            }
            remove(p, offset);
            continue;
          }
          tr.member = member;
          tr.deliveries++;
          cursor.sent(offset, tr);
          schedule(p, offset, tr, now + config.ackTimeoutMs());
          dirty = true;
          boolean tracked = config.ackPolicy() != AckPolicy.NONE;
          long sequence = numberDelivery(member, p, offset, tracked ? tr : null);
          out.add(new Delivery(stream, config.name(), p, offset, tr.deliveries, m, sequence));
          if (!tracked) {
            remove(p, offset); // a key-shared message that had waited: delivered means done
          }
        }
      }
    }
    for (int tries = 0; tries < cursors.length && out.size() < max; tries++) {
      int p = nextPartition;
      nextPartition = (nextPartition + 1) % cursors.length;
      readNew(p, member, max, now, out, blocked, live);
    }
    return out;
  }

  private void readNew(
      int p,
      String member,
      int max,
      long now,
      List<Delivery> out,
      Set<Long> blocked,
      List<String> live) {
    boolean keyShared = keyed();
    AckTracker cursor = cursors[p];
    PartitionLog log = logs.get(p);
    PartitionReader reader = readers[p];
    boolean tracking = config.ackPolicy() != AckPolicy.NONE;
    while (out.size() < max && (!tracking || unackedTotal < config.maxAckPending())) {
      cursor.next(Math.max(cursor.next(), log.logStartOffset()));
      Record r = reader.next(cursor.next(), log.readableEndOffset());
      if (r == null) {
        long past = reader.position(cursor.next()); // past a batch's records compacted away
        if (past != cursor.next()) {
          cursor.next(past);
          dirty = true;
        }
        return;
      }
      cursor.next(r.offset() + 1);
      dirty = true;
      String subject = r.subject();
      if (config.filter() != null
          && (subject == null || !Subjects.matches(config.filter(), subject))) {
        continue;
      }
      if (isExpired(r, now)) {
        expired++;
        if (dropLimits != null) {
          Tracked dropped = new Tracked(0, false, now);
          cursor.add(r.offset(), dropped);
          unackedTotal++;
          startDrop(
              p,
              r.offset(),
              dropped,
              StoredMessage.of(stream, p, r).message(),
              DropHook.Reason.EXPIRED);
        }
        continue;
      }
      if (keyShared) {
        long k = router.keyOf(p, r);
        if (isBlocked(k, member, blocked) || !member.equals(router.ownerOf(k, live))) {
          // Not this member's to take now: it waits, in order, for its key's owner.
          Tracked waiting = new Tracked(0, false, now);
          waiting.keyHash = k;
          waiting.keyKnown = true;
          ByteBuffer value = r.value();
          if (value == null || value.remaining() <= PARKED_MESSAGE_MAX_BYTES) {
            waiting.parked = StoredMessage.of(stream, p, r).message();
          }
          cursor.add(r.offset(), waiting);
          unackedTotal++;
          blocked.add(k);
          continue;
        }
      }
      Tracked tr = null;
      if (tracking) {
        tr = new Tracked(1, true, now + config.ackTimeoutMs());
        tr.member = member;
        tr.keyHash = keyShared ? router.keyOf(p, r) : 0;
        tr.keyKnown = keyShared;
        cursor.add(r.offset(), tr);
        unackedTotal++;
        timers.schedule(p, r.offset(), tr, tr.dueMs);
        nextDueMs = Math.min(nextDueMs, tr.dueMs);
      }
      out.add(
          new Delivery(
              stream,
              config.name(),
              p,
              r.offset(),
              1,
              StoredMessage.of(stream, p, r).message(),
              numberDelivery(member, p, r.offset(), tr)));
    }
  }

  /**
   * Keyed modes: whether a message of {@code key} may not go to {@code member} now: another member
   * holds the key (a message of it in flight there, or awaiting its dead letter), or an earlier
   * message of it was passed over in this pass ({@code passed}).
   */
  private boolean isBlocked(long key, String member, Set<Long> passed) {
    return passed.contains(key) || holds.heldFromOthers(key, member);
  }

  /** Works out the keys of the entries restored without one (once, at the first pass). */
  private void ensureKeys() {
    if (unkeyed.isEmpty()) {
      return;
    }
    for (long[] u : unkeyed) {
      int p = (int) u[0];
      Tracked tr = cursors[p].get(u[1]);
      if (tr != null) {
        ensureKey(p, u[1], tr);
      }
    }
    unkeyed.clear();
  }

  /**
   * Works out the key of an entry that came from disk without one (a restart, or a last-per-subject
   * start), keeping a small message ready so it is not read twice.
   */
  private void ensureKey(int partition, long offset, Tracked tr) {
    if (tr.keyKnown) {
      return;
    }
    Message m = read(partition, offset);
    if (m != null) {
      tr.keyHash = KeyRouter.keyOf(m);
      if (m.payload().length <= PARKED_MESSAGE_MAX_BYTES) {
        tr.parked = m;
      }
    }
    tr.keyKnown = true; // a message that is gone is removed when the pass below meets it
    cursors[partition].rehold(tr);
  }

  /** Modes that give each key (key-shared) or partition (group) to one member at a time. */
  private boolean keyed() {
    return KeyRouter.keyed(config.mode());
  }

  /**
   * Whether the record's time to live ({@link Message#TTL_HEADER}), or the drop hook's for this
   * consumer, has run out.
   */
  private boolean isExpired(Record r, long now) {
    return isExpired(r.header(Message.TTL_HEADER), r.timestamp(), now)
        || (dropLimits != null
            && dropLimits.ttlMs() >= 0
            && now - r.timestamp() >= dropLimits.ttlMs());
  }

  private boolean isExpired(Message m, long now) {
    return isExpired(m.header(Message.TTL_HEADER), m.timestampMs(), now)
        || (dropLimits != null
            && dropLimits.ttlMs() >= 0
            && now - m.timestampMs() >= dropLimits.ttlMs());
  }

  // ------------------------------------------------------------------ drops from the head

  /**
   * With a {@link DropHook} that names limits for this consumer: hands over what leaves the head,
   * oldest first (idle entries, then new messages), while more are ready than {@code maxReady} or
   * the head has expired; stops at the first head that stays. Runs when something was appended and
   * every {@link #DROP_SWEEP_MS}. Not in keyed modes. Owner thread.
   */
  private int sweepHead(long now) {
    DropHook hook = dropHook;
    if (hook == null || keyed()) {
      dropLimits = null;
      return 0;
    }
    boolean due = now >= nextDropSweepMs;
    if (due) {
      nextDropSweepMs = now + DROP_SWEEP_MS;
      try {
        dropLimits = hook.limits(stream, config.name());
      } catch (RuntimeException e) {
        LOG.warn("SB-BRK-2010 {}/{}: drop hook failed: {}", stream, config.name(), e.toString());
        dropLimits = null;
      }
    }
    DropHook.Limits limits = dropLimits;
    if (limits == null) {
      return 0;
    }
    int work = 0;
    partitions:
    for (int p = 0; p < cursors.length; p++) {
      PartitionLog log = logs.get(p);
      long end = log.readableEndOffset();
      if (!due && end == sweptEnd[p]) {
        continue;
      }
      sweptEnd[p] = end;
      AckTracker cursor = cursors[p];
      cursor.next(Math.max(cursor.next(), log.logStartOffset()));
      long ready = cursor.idleSize() - dropping[p] + Math.max(0, end - cursor.next());
      long offset = cursor.firstIdle();
      while (work < MAX_DROPS_PER_CYCLE && offset != AckTracker.NONE) {
        Tracked tr = cursor.get(offset);
        long after = cursor.idleAfter(offset);
        if (!awaitsDeadLetter(tr)) {
          Message m = tr.parked != null ? tr.parked : read(p, offset);
          DropHook.Reason reason = m == null ? null : dropReason(limits, ready, m, now);
          if (m == null) {
            remove(p, offset);
            ready--;
          } else if (reason == null) {
            continue partitions; // the head stays
          } else {
            tr.parked = null;
            startDrop(p, offset, tr, m, reason);
            ready--;
            work++;
          }
        }
        offset = after;
      }
      PartitionReader reader = readers[p];
      while (work < MAX_DROPS_PER_CYCLE && unackedTotal < config.maxAckPending()) {
        Record r = reader.next(cursor.next(), end);
        if (r == null) {
          break;
        }
        if (config.filter() != null
            && (r.subject() == null || !Subjects.matches(config.filter(), r.subject()))) {
          cursor.next(r.offset() + 1);
          dirty = true;
          ready--;
          continue;
        }
        Message m = StoredMessage.of(stream, p, r).message();
        DropHook.Reason reason = dropReason(limits, ready, m, now);
        if (reason == null) {
          break; // the head stays, and is delivered as usual
        }
        cursor.next(r.offset() + 1);
        Tracked tr = new Tracked(0, false, now);
        cursor.add(r.offset(), tr);
        unackedTotal++;
        startDrop(p, r.offset(), tr, m, reason);
        ready--;
        work++;
      }
    }
    return work;
  }

  private DropHook.Reason dropReason(DropHook.Limits limits, long ready, Message m, long now) {
    if (limits.maxReady() > 0 && ready > limits.maxReady()) {
      return DropHook.Reason.MAX_LENGTH;
    }
    return isExpired(m, now) ? DropHook.Reason.EXPIRED : null;
  }

  /** Marks an idle entry as dropped (never delivered again) and hands its message over. */
  private void startDrop(int p, long offset, Tracked tr, Message m, DropHook.Reason reason) {
    tr.dropReason = reason;
    dropping[p]++;
    dirty = true;
    handOver(p, offset, tr, m, reason);
  }

  private void handOver(int p, long offset, Tracked tr, Message m, DropHook.Reason reason) {
    DropHook hook = dropHook;
    java.util.concurrent.Executor executor = dropExecutor;
    tr.deadLettering = true;
    cursors[p].rehold(tr);
    Runnable call =
        () -> {
          CompletableFuture<?> done;
          try {
            done = hook.dropped(stream, config.name(), m, reason);
          } catch (RuntimeException e) {
            done = CompletableFuture.failedFuture(e);
          }
          done.whenComplete(
              (r, e) -> {
                if (e != null) {
                  LOG.warn(
                      "SB-BRK-2010 {}/{}: handing over dropped {}:{} failed; will retry: {}",
                      stream,
                      config.name(),
                      p,
                      offset,
                      e.toString());
                }
                deadLetterResults.add(new DeadLettered(p, offset, e == null));
                wakeUp.run();
              });
        };
    if (hook == null || executor == null) {
      deadLetterResults.add(new DeadLettered(p, offset, false));
      return;
    }
    handOvers.add(new HandOver(p, offset, call));
    runHandOvers(executor);
  }

  /** Runs the waiting hand-overs in order on {@code executor}, one task at a time. Any thread. */
  private void runHandOvers(java.util.concurrent.Executor executor) {
    if (handOvers.isEmpty() || !handingOver.compareAndSet(false, true)) {
      return;
    }
    try {
      executor.execute(
          () -> {
            HandOver next;
            while ((next = handOvers.poll()) != null) {
              next.call().run();
            }
            handingOver.set(false);
            runHandOvers(executor); // one added after the poll came up empty
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      handingOver.set(false);
      HandOver h;
      while ((h = handOvers.poll()) != null) {
        // The broker is closing: failed (tried again by the timer), never stranded.
        deadLetterResults.add(new DeadLettered(h.partition(), h.offset(), false));
      }
      wakeUp.run();
    }
  }

  private static boolean isExpired(byte[] ttl, long timestampMs, long now) {
    if (ttl == null) {
      return false;
    }
    try {
      return timestampMs + Long.parseLong(new String(ttl, StandardCharsets.UTF_8).trim()) <= now;
    } catch (NumberFormatException e) {
      return false; // a malformed TTL never expires a message: better delivered than lost
    }
  }

  /** Messages skipped because their time to live ran out. Any thread. */
  public long expired() {
    return expired;
  }

  /** The message at {@code offset}, or null when retention or compaction removed it. */
  private Message read(int p, long offset) {
    Record r = readers[p].readAt(offset);
    return r == null ? null : StoredMessage.of(stream, p, r).message();
  }

  /** The state to persist now. Owner thread. */
  ConsumerState snapshot() {
    List<ConsumerState.PartitionState> parts = new ArrayList<>(cursors.length);
    for (AckTracker c : cursors) {
      parts.add(c.snapshot());
    }
    return new ConsumerState(parts);
  }

  /** Unacknowledged messages now (in flight or waiting for redelivery). Any thread. */
  public int unacknowledged() {
    return unackedTotal;
  }

  /**
   * Messages after the consumer's delivery position in every partition — published and not yet
   * delivered for the first time: the consumer's lag. Counted by offsets, so messages its filter
   * will skip count too. Any thread.
   */
  public long pending() {
    long sum = 0;
    for (int p = 0; p < cursors.length; p++) {
      PartitionLog log = logs.get(p);
      sum += Math.max(0, log.logEndOffset() - Math.max(cursors[p].next(), log.logStartOffset()));
    }
    return sum;
  }

  /** Messages sent to the dead-letter subject (or dropped without one). Any thread. */
  public long deadLettered() {
    return deadLettered;
  }

  /**
   * Stops taking commands; waiting fetches complete empty at the next cycle. The final state is
   * handed to the persister by {@link #finish()}.
   */
  public void close() {
    closed = true;
    wakeUp.run();
  }

  /** After the runner stopped running this agent: answers what is left and persists once more. */
  public void finish() {
    DeadLettered result;
    while ((result = deadLetterResults.poll()) != null) {
      handle(result, clock.nowMs());
    }
    Command c;
    while ((c = commands.relaxedPoll()) != null) {
      switch (c) {
        case Fetch f -> f.out().complete(List.of());
        case Ack a -> a.out().complete(applyAck(a.partition(), a.offset()));
        case Nack n -> n.out().complete(false);
        case Touch t -> t.out().complete(false);
        case Leave l -> l.out().complete(false);
        case AckUpTo u -> u.out().complete(applyAckUpTo(u.member(), u.sequence()));
        case Settle st -> {
          List<Boolean> results = new ArrayList<>();
          for (Settlement e : st.entries()) {
            results.add(e.kind() == Settlement.Kind.ACK && applyAck(e.partition(), e.offset()));
          }
          st.out().complete(results);
        }
        case Register r ->
            r.out()
                .completeExceptionally(
                    SwitchboardException.of(ErrorCode.CONSUMER_CLOSED, config.name()));
        case DeadLettered d -> handle(d, clock.nowMs());
      }
    }
    for (Fetch f : waiting) {
      f.out().complete(List.of());
    }
    waiting.clear();
    sinks.forEach(PushSubscription::close);
    sinks.clear();
    demand = false;
    for (AutoCloseable notice : appendNotices) {
      try {
        notice.close();
      } catch (Exception e) {
        LOG.warn("SB-BRK-2005 {}/{}: stopping append notices failed", stream, config.name(), e);
      }
    }
    appendNotices.clear();
    for (PartitionReader reader : readers) {
      reader.reset();
    }
    persister.accept(snapshot());
  }

  @Override
  public String toString() {
    return "ConsumerAgent[" + stream + "/" + config.name() + "]";
  }
}
