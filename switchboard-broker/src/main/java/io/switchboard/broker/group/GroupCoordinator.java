package io.switchboard.broker.group;

import io.switchboard.broker.stream.Agent;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.LogFlusher;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.io.StorageIO;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jctools.queues.MpscArrayQueue;

/**
 * The keeper of consumer groups' generations and committed offsets (what Kafka's group coordinator
 * and {@code __consumer_offsets} hold): the single writer of that state, run as an agent on a
 * partition runner. Broker internal; front ends use {@link Groups}.
 *
 * <p>On disk: one compacted partition log, {@code <dataDir>/groups/}, forced before a change is
 * acknowledged ({@code fsync=always}, one force covering every change a flusher pass finds). Each
 * change is a keyed record — {@code G|group} for a generation (its id and member ids), {@code
 * O|group|stream|partition} for a committed offset — and a deletion is a tombstone (a record
 * without a value), so compaction keeps one record per live key and the log does not grow without
 * bound. The state is rebuilt from the log when the broker opens.
 *
 * <p>Thread safety: {@link #newGeneration}, {@link #commit} and {@link #delete} post a command to a
 * bounded MPSC queue from any thread and never block; {@link #doWork()} runs on one runner. A
 * change is appended to the log, then applied to memory, then acknowledged once the log says it is
 * forced; so a caller whose commit was acknowledged reads it back. Reads ({@link #fetch}, {@link
 * #describe}, {@link #list}) are lock-free looks at concurrent maps, from any thread. A change
 * whose force fails is reported failed but may already be visible to reads: the log then refuses
 * every later append ({@link ErrorCode#LOG_FSYNC_FAILED}), and after a restart only what was forced
 * is there.
 */
public final class GroupCoordinator implements Agent, AutoCloseable {
  /** Bytes of UTF-8 an offset's metadata may hold (Kafka's {@code offset.metadata.max.bytes}). */
  public static final int MAX_METADATA_BYTES = 4096;

  /** Members one generation may have. */
  public static final int MAX_MEMBERS = 10_000;

  /** Characters a group id or a member id may have. */
  public static final int MAX_ID_CHARS = 255;

  /** Requests queued at most; past it callers get {@link ErrorCode#GROUP_BACKPRESSURE}. */
  static final int QUEUE_CAPACITY = 4096;

  /** Requests handled per duty cycle, so the coordinator cannot starve a runner's partitions. */
  static final int MAX_COMMANDS_PER_CYCLE = 256;

  /** 16 MiB segments, rolled at least hourly: compaction cleans only sealed segments. */
  static final int SEGMENT_BYTES = 16 * 1024 * 1024;

  static final long SEGMENT_MS = 3_600_000;

  /** The largest change (a commit of many partitions, a generation of many members). */
  static final int MAX_BATCH_BYTES = 8 * 1024 * 1024;

  private static final byte GENERATION_KEY = 'G';
  private static final byte OFFSET_KEY = 'O';
  private static final byte FORMAT = 1;

  private sealed interface Command {
    CompletableFuture<?> out();
  }

  private record NewGeneration(String group, Set<String> members, CompletableFuture<Integer> out)
      implements Command {}

  private record Commit(
      String group,
      int generation,
      String member,
      Map<StreamPartition, OffsetCommit> offsets,
      CompletableFuture<Void> out)
      implements Command {}

  private record Delete(
      String group, Set<StreamPartition> partitions, CompletableFuture<Integer> out)
      implements Command {}

  /**
   * A group's generation as one value, so a reader never sees one generation's number with
   * another's members.
   *
   * @param recorded whether the log holds a generation record for the group
   */
  private record Generation(int id, Set<String> members, boolean recorded) {
    static final Generation NONE = new Generation(Groups.NO_GENERATION, Set.of(), false);
  }

  /** One group in memory. Written by the owner; read by any thread. */
  private static final class Group {
    final String id;
    volatile Generation generation = Generation.NONE;

    final Map<StreamPartition, CommittedOffset> offsets = new ConcurrentHashMap<>();

    Group(String id) {
      this.id = id;
    }

    GroupInfo info() {
      Generation g = generation;
      return new GroupInfo(id, g.id(), g.members(), offsets.size());
    }
  }

  private final PartitionLog log;
  private final Clock clock;
  private final int maxGroups;
  private final int maxOffsetsPerGroup;
  private final Consumer<StreamPartition> partitionCheck;
  private final Map<String, Group> groups = new ConcurrentHashMap<>();
  private final MpscArrayQueue<Command> commands = new MpscArrayQueue<>(QUEUE_CAPACITY);
  private final RecordBatchBuilder builder = new RecordBatchBuilder(Compression.NONE);
  private final Groups facade = new Groups(this);

  /** The command a duty cycle is handling. Owner thread only. */
  private Command current;

  private volatile Runnable wakeUp = () -> {};
  private volatile boolean closed;

  private GroupCoordinator(
      PartitionLog log,
      Clock clock,
      int maxGroups,
      int maxOffsetsPerGroup,
      Consumer<StreamPartition> partitionCheck) {
    this.log = log;
    this.clock = clock;
    this.maxGroups = maxGroups;
    this.maxOffsetsPerGroup = maxOffsetsPerGroup;
    this.partitionCheck = partitionCheck;
  }

  /**
   * Opens (or creates) the groups log in {@code dir} and rebuilds the state from it.
   *
   * @param flusher the broker's shared flusher
   * @param partitionCheck throws the error a commit for a partition that does not exist gets
   */
  public static GroupCoordinator open(
      Path dir,
      StorageIO io,
      Clock clock,
      LogFlusher flusher,
      int maxGroups,
      int maxOffsetsPerGroup,
      Consumer<StreamPartition> partitionCheck) {
    long keys = Math.min(10_000_000L, (long) maxGroups * (maxOffsetsPerGroup + 1L));
    LogConfig config =
        LogConfig.defaults(FsyncPolicy.ALWAYS)
            .withSegmentBytes(SEGMENT_BYTES)
            .withSegmentMs(SEGMENT_MS)
            .withMaxBatchBytes(MAX_BATCH_BYTES)
            .withCompaction(
                LogConfig.DEFAULT_DELETE_RETENTION_MS,
                (int) Math.max(LogConfig.DEFAULT_COMPACTION_MAX_KEYS, keys));
    PartitionLog log =
        PartitionLog.open(dir, config, new PartitionLog.Options(io, clock, false, flusher));
    GroupCoordinator c =
        new GroupCoordinator(log, clock, maxGroups, maxOffsetsPerGroup, partitionCheck);
    try {
      c.rebuild();
    } catch (RuntimeException e) {
      log.close();
      throw e;
    }
    return c;
  }

  /** The public face of this coordinator. */
  public Groups groups() {
    return facade;
  }

  /** The groups log (for maintenance: compaction). */
  public PartitionLog log() {
    return log;
  }

  @Override
  public void onWork(Runnable wakeUp) {
    this.wakeUp = wakeUp;
  }

  // ------------------------------------------------------------------ proxy side (any thread)

  CompletableFuture<Integer> newGeneration(String group, Collection<String> members) {
    CompletableFuture<Integer> out = new CompletableFuture<>();
    try {
      checkId("group id", group);
      if (members == null) {
        throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a generation lists its members");
      }
      if (members.size() > MAX_MEMBERS) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "a generation has at most " + MAX_MEMBERS + " members, not " + members.size());
      }
      for (String m : members) {
        checkId("member id", m);
      }
    } catch (SwitchboardException e) {
      out.completeExceptionally(e);
      return out;
    }
    return post(new NewGeneration(group, Set.copyOf(new LinkedHashSet<>(members)), out));
  }

  CompletableFuture<Void> commit(
      String group, int generation, String member, Map<StreamPartition, OffsetCommit> offsets) {
    CompletableFuture<Void> out = new CompletableFuture<>();
    try {
      checkId("group id", group);
      if (generation < Groups.TRANSACTION) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "generation " + generation + " (-1: none, -2: a transaction's)");
      }
      String m = member == null || member.isEmpty() ? null : member;
      if (generation < 0 && m != null) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "a commit without a generation names no member");
      }
      if (offsets == null) {
        throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a commit lists its offsets");
      }
      for (Map.Entry<StreamPartition, OffsetCommit> e : offsets.entrySet()) {
        if (e.getKey() == null) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "an offset names its partition");
        }
        OffsetCommit c = e.getValue();
        if (c == null || c.offset() < 0) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT,
              "the committed offset for " + e.getKey() + " must be >= 0, not " + c);
        }
        if (c.metadata() != null) {
          int bytes = c.metadata().getBytes(StandardCharsets.UTF_8).length;
          if (bytes > MAX_METADATA_BYTES) {
            throw SwitchboardException.of(
                ErrorCode.OFFSET_METADATA_TOO_LARGE, bytes, e.getKey(), MAX_METADATA_BYTES);
          }
        }
      }
      return post(new Commit(group, generation, m, Map.copyOf(offsets), out));
    } catch (SwitchboardException e) {
      out.completeExceptionally(e);
      return out;
    }
  }

  CompletableFuture<Integer> delete(String group, Collection<StreamPartition> partitions) {
    CompletableFuture<Integer> out = new CompletableFuture<>();
    if (group == null || (partitions != null && partitions.stream().anyMatch(p -> p == null))) {
      out.completeExceptionally(
          SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a group and its partitions"));
      return out;
    }
    return post(new Delete(group, partitions == null ? null : Set.copyOf(partitions), out));
  }

  Map<StreamPartition, CommittedOffset> fetch(
      String group, Collection<StreamPartition> partitions) {
    Group g = group == null ? null : groups.get(group);
    if (g == null) {
      return Map.of();
    }
    if (partitions == null || partitions.isEmpty()) {
      return Map.copyOf(g.offsets);
    }
    Map<StreamPartition, CommittedOffset> out = new HashMap<>();
    for (StreamPartition p : partitions) {
      CommittedOffset c = p == null ? null : g.offsets.get(p);
      if (c != null) {
        out.put(p, c);
      }
    }
    return Map.copyOf(out);
  }

  Optional<GroupInfo> describe(String group) {
    Group g = group == null ? null : groups.get(group);
    return g == null ? Optional.empty() : Optional.of(g.info());
  }

  List<GroupInfo> list() {
    List<GroupInfo> out = new ArrayList<>();
    for (Group g : groups.values()) {
      out.add(g.info());
    }
    out.sort(java.util.Comparator.comparing(GroupInfo::group));
    return out;
  }

  private static void checkId(String what, String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_ID_CHARS) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "a " + what + " has 1.." + MAX_ID_CHARS + " characters, not " + describeId(id));
    }
  }

  private static String describeId(String id) {
    return id == null ? "none" : id.length() + "";
  }

  private <T> CompletableFuture<T> post(Command c) {
    @SuppressWarnings("unchecked")
    CompletableFuture<T> out = (CompletableFuture<T>) c.out();
    if (closed) {
      out.completeExceptionally(SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    } else if (!commands.offer(c)) {
      out.completeExceptionally(
          SwitchboardException.of(ErrorCode.GROUP_BACKPRESSURE, commands.capacity()));
    } else {
      wakeUp.run();
    }
    return out;
  }

  // ------------------------------------------------------------------ owner side

  @Override
  public int doWork() {
    int handled = 0;
    Command c;
    while (handled < MAX_COMMANDS_PER_CYCLE && (c = commands.relaxedPoll()) != null) {
      handled++;
      current = c;
      if (closed) {
        c.out().completeExceptionally(SwitchboardException.of(ErrorCode.BROKER_CLOSED));
      } else {
        try {
          switch (c) {
            case NewGeneration n -> handle(n);
            case Commit m -> handle(m);
            case Delete d -> handle(d);
          }
        } catch (SwitchboardException e) {
          c.out().completeExceptionally(e);
        }
      }
      current = null;
    }
    return handled;
  }

  @Override
  public void dutyCycleFailed(RuntimeException e) {
    Command c = current;
    current = null;
    if (c != null) {
      c.out()
          .completeExceptionally(
              e instanceof SwitchboardException se
                  ? se
                  : SwitchboardException.of(ErrorCode.INTERNAL, e.toString()));
    }
  }

  private void handle(NewGeneration n) {
    Group g = groups.get(n.group());
    if (g == null && groups.size() >= maxGroups) {
      throw SwitchboardException.of(ErrorCode.TOO_MANY_GROUPS, groups.size(), n.group());
    }
    int next = (g == null ? 0 : Math.max(0, g.generation.id())) + 1;
    long now = clock.nowMs();
    builder.reset();
    builder.appendBytes(
        now, generationKey(n.group()), generationValue(next, n.members(), now), List.of());
    append(
        n,
        () -> {
          groups.computeIfAbsent(n.group(), Group::new).generation =
              new Generation(next, n.members(), true);
        },
        next);
  }

  private void handle(Commit c) {
    Group g = groups.get(c.group());
    Generation gen = g == null ? Generation.NONE : g.generation;
    if (c.generation() == Groups.TRANSACTION) {
      // checked when the transaction's offsets were sent
    } else if (c.generation() == Groups.NO_GENERATION) {
      if (!gen.members().isEmpty()) {
        throw SwitchboardException.of(
            ErrorCode.GROUP_NOT_EMPTY,
            c.group(),
            gen.id(),
            "a commit must name its generation and member");
      }
    } else {
      if (gen.id() != c.generation()) {
        throw SwitchboardException.of(
            ErrorCode.STALE_GENERATION,
            c.group(),
            gen.id() == Groups.NO_GENERATION ? "none" : gen.id(),
            c.generation());
      }
      if (c.member() == null || !gen.members().contains(c.member())) {
        throw SwitchboardException.of(
            ErrorCode.UNKNOWN_GROUP_MEMBER, c.group(), c.generation(), c.member());
      }
    }
    if (g == null && groups.size() >= maxGroups) {
      throw SwitchboardException.of(ErrorCode.TOO_MANY_GROUPS, groups.size(), c.group());
    }
    int added = 0;
    for (StreamPartition p : c.offsets().keySet()) {
      partitionCheck.accept(p);
      if (g == null || !g.offsets.containsKey(p)) {
        added++;
      }
    }
    int total = (g == null ? 0 : g.offsets.size()) + added;
    if (total > maxOffsetsPerGroup) {
      throw SwitchboardException.of(
          ErrorCode.TOO_MANY_GROUP_OFFSETS, c.group(), total, maxOffsetsPerGroup);
    }
    if (c.offsets().isEmpty()) {
      c.out().complete(null);
      return;
    }
    long now = clock.nowMs();
    Map<StreamPartition, CommittedOffset> committed = new HashMap<>();
    builder.reset();
    for (Map.Entry<StreamPartition, OffsetCommit> e : c.offsets().entrySet()) {
      CommittedOffset v =
          new CommittedOffset(e.getValue().offset(), e.getValue().metadata(), c.generation(), now);
      committed.put(e.getKey(), v);
      builder.appendBytes(now, offsetKey(c.group(), e.getKey()), offsetValue(v), List.of());
    }
    append(c, () -> groups.computeIfAbsent(c.group(), Group::new).offsets.putAll(committed), null);
  }

  private void handle(Delete d) {
    Group g = groups.get(d.group());
    if (g == null) {
      throw SwitchboardException.of(ErrorCode.GROUP_NOT_FOUND, d.group());
    }
    Generation gen = g.generation;
    if (!gen.members().isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.GROUP_NOT_EMPTY,
          d.group(),
          gen.id(),
          "its offsets are deleted only once it has none");
    }
    boolean all = d.partitions() == null;
    List<StreamPartition> gone = new ArrayList<>();
    for (StreamPartition p : all ? g.offsets.keySet() : d.partitions()) {
      if (g.offsets.containsKey(p)) {
        gone.add(p);
      }
    }
    long now = clock.nowMs();
    builder.reset();
    for (StreamPartition p : gone) {
      builder.appendBytes(now, offsetKey(d.group(), p), null, List.of());
    }
    boolean dropGroup = all || (!gen.recorded() && gone.size() == g.offsets.size());
    if (dropGroup && gen.recorded()) {
      builder.appendBytes(now, generationKey(d.group()), null, List.of());
    }
    if (builder.recordCount() == 0) {
      if (dropGroup) {
        groups.remove(d.group());
      }
      d.out().complete(0);
      return;
    }
    append(
        d,
        () -> {
          for (StreamPartition p : gone) {
            g.offsets.remove(p);
          }
          if (dropGroup) {
            groups.remove(d.group());
          }
        },
        gone.size());
  }

  /**
   * Appends what the builder holds; on success applies {@code change} to memory and acknowledges
   * {@code c} with {@code result} once the log has forced it. A refused append changes nothing.
   */
  @SuppressWarnings("unchecked")
  private void append(Command c, Runnable change, Object result) {
    CompletableFuture<?> appended = log.append(builder.build()); // throws: nothing changed
    change.run();
    CompletableFuture<Object> out = (CompletableFuture<Object>) c.out();
    appended.whenComplete(
        (r, e) -> {
          if (e != null) {
            out.completeExceptionally(e instanceof CompletionException ce ? ce.getCause() : e);
          } else {
            out.complete(result);
          }
        });
  }

  // ------------------------------------------------------------------ records

  private static byte[] generationKey(String group) {
    return encode(
        out -> {
          out.writeByte(GENERATION_KEY);
          out.writeUTF(group);
        });
  }

  private static byte[] offsetKey(String group, StreamPartition p) {
    return encode(
        out -> {
          out.writeByte(OFFSET_KEY);
          out.writeUTF(group);
          out.writeUTF(p.stream());
          out.writeInt(p.partition());
        });
  }

  private static byte[] generationValue(int generation, Set<String> members, long now) {
    return encode(
        out -> {
          out.writeByte(FORMAT);
          out.writeInt(generation);
          out.writeLong(now);
          out.writeInt(members.size());
          for (String m : members) {
            out.writeUTF(m);
          }
        });
  }

  private static byte[] offsetValue(CommittedOffset c) {
    return encode(
        out -> {
          out.writeByte(FORMAT);
          out.writeLong(c.offset());
          out.writeInt(c.generation());
          out.writeLong(c.commitTimeMs());
          out.writeBoolean(c.metadata() != null);
          if (c.metadata() != null) {
            out.writeUTF(c.metadata());
          }
        });
  }

  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private static byte[] encode(Writer w) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      w.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return bytes.toByteArray();
  }

  /** Replays the log into memory: the last record of each key wins, a tombstone removes it. */
  private void rebuild() {
    long offset = log.logStartOffset();
    while (offset < log.logEndOffset()) {
      List<RecordBatch> batches = log.read(offset, MAX_BATCH_BYTES).batches();
      if (batches.isEmpty()) {
        break;
      }
      for (RecordBatch b : batches) {
        for (Record r : b.records(MAX_BATCH_BYTES)) {
          if (r.offset() >= offset) {
            replay(r);
          }
        }
        offset = Math.max(offset, b.nextOffset());
      }
    }
    groups.values().removeIf(g -> !g.generation.recorded() && g.offsets.isEmpty());
  }

  private void replay(Record r) {
    byte[] key = r.keyBytes();
    byte[] value = r.valueBytes();
    if (key == null || key.length == 0) {
      throw corrupt(r, "no key");
    }
    try (DataInputStream k = new DataInputStream(new ByteArrayInputStream(key))) {
      byte type = k.readByte();
      String group = k.readUTF();
      if (type == GENERATION_KEY) {
        Group g = groups.computeIfAbsent(group, Group::new);
        if (value == null) {
          g.generation = Generation.NONE;
          return;
        }
        try (DataInputStream v = new DataInputStream(new ByteArrayInputStream(value))) {
          checkFormat(r, v.readByte());
          int id = v.readInt();
          v.readLong(); // when it started
          int n = v.readInt();
          Set<String> members = new LinkedHashSet<>();
          for (int i = 0; i < n; i++) {
            members.add(v.readUTF());
          }
          g.generation = new Generation(id, Set.copyOf(members), true);
        }
      } else if (type == OFFSET_KEY) {
        StreamPartition p = new StreamPartition(k.readUTF(), k.readInt());
        Group g = groups.computeIfAbsent(group, Group::new);
        if (value == null) {
          g.offsets.remove(p);
          return;
        }
        try (DataInputStream v = new DataInputStream(new ByteArrayInputStream(value))) {
          checkFormat(r, v.readByte());
          long offset = v.readLong();
          int generation = v.readInt();
          long at = v.readLong();
          String metadata = v.readBoolean() ? v.readUTF() : null;
          g.offsets.put(p, new CommittedOffset(offset, metadata, generation, at));
        }
      } else {
        throw corrupt(r, "unknown key type " + type);
      }
    } catch (IOException | IllegalArgumentException e) {
      throw corrupt(r, e.toString());
    }
  }

  private void checkFormat(Record r, byte format) {
    if (format != FORMAT) {
      throw corrupt(r, "unknown format " + format);
    }
  }

  private SwitchboardException corrupt(Record r, String why) {
    return SwitchboardException.of(
        ErrorCode.LOG_IO_ERROR, log.dir(), "groups record at offset " + r.offset() + ": " + why);
  }

  /** Requests waiting for the owner. */
  public int queued() {
    return commands.size();
  }

  /** Fails what is still queued and closes the log. Call after the runner stopped running it. */
  @Override
  public void close() {
    closed = true;
    Command c;
    while ((c = commands.relaxedPoll()) != null) {
      c.out().completeExceptionally(SwitchboardException.of(ErrorCode.BROKER_CLOSED));
    }
    log.close();
  }

  @Override
  public String toString() {
    return "GroupCoordinator[" + log.dir() + "]";
  }
}
