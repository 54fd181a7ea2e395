package io.switchboard.broker.stream;

import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredHeaders;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.jctools.queues.MpscArrayQueue;

/**
 * The owner of one stream partition: the only thread that appends to its log (single writer).
 *
 * <p>Thread safety: {@link #publish} is the proxy side, callable from any thread; it posts a
 * command on a bounded MPSC queue and never blocks. {@link #doWork()} is owner-thread only: an
 * {@link AgentRunner} thread, or a test calling it directly. Each duty cycle drains up to {@link
 * #MAX_COMMANDS_PER_CYCLE} publishes, packs them into as few record batches as fit, appends them,
 * and completes each publish when the log says the append is durable under the stream's fsync
 * policy.
 *
 * <p>De-duplication: a publish with a message id already seen within the stream's duplicate window
 * is acknowledged with the original's offset and not stored again. The remembered ids are bounded
 * (oldest forgotten first) and rebuilt from the log's recent records when the partition opens, so a
 * producer's retry after a broker restart is still caught.
 */
public final class PartitionAgent implements Agent, AutoCloseable {
  /** Record header holding a publish's message id. */
  public static final String MESSAGE_ID_HEADER = StoredHeaders.MESSAGE_ID;

  /** Record header holding a request's reply subject. */
  public static final String REPLY_TO_HEADER = StoredHeaders.REPLY_TO;

  /** Publishes handled per duty cycle, so one busy partition cannot starve others on a runner. */
  static final int MAX_COMMANDS_PER_CYCLE = 1024;

  /** 256 KiB batches: large enough to amortize an append, small enough to keep latency low. */
  static final int TARGET_BATCH_BYTES = 256 * 1024;

  /** The one batch builder appends use; agent thread only. */
  private final RecordBatchBuilder reusableBuilder = new RecordBatchBuilder(Compression.NONE);

  /** 1M remembered message ids per partition bounds de-duplication memory (~100 MB worst case). */
  static final int MAX_DEDUP_IDS = 1_000_000;

  /** An expected-last-offset that checks nothing. */
  public static final long NO_EXPECTATION = PublishOptions.NO_EXPECTATION;

  /** Offset reported for a subject that has no message yet (expect it to say "new subject"). */
  public static final long NO_OFFSET = PublishOptions.NO_OFFSET;

  /** 1M subjects per partition bounds the subject index (~100 B each). */
  static final int MAX_INDEXED_SUBJECTS = 1_000_000;

  /** What a caller posts: one publish, or a producer's batch. */
  private sealed interface Command {
    CompletableFuture<PublishAck> ack();
  }

  private record Publish(
      Message message,
      String messageId,
      long expectedLastOffset,
      ProducerSequence producer,
      CompletableFuture<PublishAck> ack)
      implements Command {}

  /**
   * A producer's batch, stored as one record batch; {@code producer} (null: not idempotent) holds
   * the sequence of its first message.
   */
  private record Batch(
      List<Message> messages, ProducerSequence producer, CompletableFuture<PublishAck> ack)
      implements Command {}

  private final String stream;
  private final int partition;
  private final PartitionLog log;
  private final StreamConfig config;
  private final Clock clock;
  private final MpscArrayQueue<Command> queue;

  /** Look-ups of owner-only state waiting for the owner ({@link #producers}). */
  static final int MAX_INSPECTIONS = 64;

  private final MpscArrayQueue<Runnable> inspections = new MpscArrayQueue<>(MAX_INSPECTIONS);
  private final Durability durability;

  /**
   * A remembered message id: where it was stored, when it was first seen, and the original
   * publish's acknowledgement (null when rebuilt from the log, i.e. already durable).
   */
  private record Seen(long offset, long seenMs, CompletableFuture<PublishAck> original) {}

  /** Message id to where it went, oldest first. Owner-thread only. */
  private final LinkedHashMap<String, Seen> dedup = new LinkedHashMap<>();

  /**
   * Subject to its last offset in this partition. Written by the owner only; read by any thread
   * (last-value lookups). Bounded: once full it stops taking new subjects and says so.
   */
  private final Map<String, Long> lastOffsetBySubject = new ConcurrentHashMap<>();

  private volatile boolean subjectIndexFull;
  private final ProducerStates producers;

  /**
   * What one publish batched but not yet appended changed in the subject index: restored, with the
   * de-duplication and producer entries, when its batch never reaches the log.
   */
  private record Undo(String subject, Long previousOffset, boolean indexed) {}

  /** Publishes of the batch being built, and their undo entries, in order. Owner thread only. */
  private final List<Publish> inBatch = new ArrayList<>();

  private final List<Undo> undo = new ArrayList<>();

  /** The command the owner is working on, until it is answered or batched. Owner thread only. */
  private Command current;

  private volatile Runnable wakeUp = () -> {};
  private volatile boolean closed;

  /**
   * Takes ownership of {@code log} (closes it on {@link #close}) and rebuilds the de-duplication
   * state from its recent records.
   */
  public PartitionAgent(
      String stream,
      int partition,
      PartitionLog log,
      StreamConfig config,
      Clock clock,
      int queueCapacity) {
    this.stream = stream;
    this.partition = partition;
    this.log = log;
    this.config = config;
    this.clock = clock;
    this.queue = new MpscArrayQueue<>(queueCapacity);
    this.durability =
        log.config().fsync() == FsyncPolicy.ALWAYS ? Durability.FSYNCED : Durability.WRITTEN;
    this.producers = new ProducerStates(stream, partition);
    rebuildFromLog();
  }

  @Override
  public void onWork(Runnable wakeUp) {
    this.wakeUp = wakeUp;
  }

  public String stream() {
    return stream;
  }

  public int partition() {
    return partition;
  }

  public PartitionLog log() {
    return log;
  }

  /**
   * Posts a publish (proxy side; any thread; never blocks).
   *
   * <p>The future fails with {@link ErrorCode#PUBLISH_BACKPRESSURE} when the queue is full, {@link
   * ErrorCode#MESSAGE_TOO_LARGE}, {@link ErrorCode#PARTITION_CLOSED}, or the log's error when the
   * append fails.
   *
   * @param messageId for de-duplication within the window, or {@code null}
   */
  public CompletableFuture<PublishAck> publish(Message message, String messageId) {
    return publish(message, messageId, NO_EXPECTATION);
  }

  /**
   * Posts a conditional publish: stored only if the subject's last offset in this partition is
   * {@code expectedLastOffset} ({@link #NO_OFFSET}: the subject has no message yet). Otherwise the
   * future fails with {@link ErrorCode#PUBLISH_CONFLICT}, which names the current offset.
   */
  public CompletableFuture<PublishAck> publish(
      Message message, String messageId, long expectedLastOffset) {
    return publish(message, messageId, expectedLastOffset, null);
  }

  /**
   * Posts a publish with every option; {@code producer}, when not null, makes it idempotent: a
   * retried sequence is acknowledged with the original offset, a gap fails with {@link
   * ErrorCode#OUT_OF_ORDER_SEQUENCE}, an older epoch with {@link ErrorCode#PRODUCER_FENCED}.
   */
  public CompletableFuture<PublishAck> publish(
      Message message, String messageId, long expectedLastOffset, ProducerSequence producer) {
    return post(
        new Publish(message, messageId, expectedLastOffset, producer, new CompletableFuture<>()));
  }

  /**
   * Posts a producer's batch (proxy side; any thread; never blocks): stored as one record batch,
   * the messages at consecutive offsets, or not at all. With a {@code producer} (null: none) the
   * batch is idempotent as a whole, its first message carrying {@code producer.sequence()}: a retry
   * of a stored batch is acknowledged with the original base offset ({@link
   * PublishAck#duplicate()}), a gap or a partial overlap fails with {@link
   * ErrorCode#OUT_OF_ORDER_SEQUENCE}, an older epoch with {@link ErrorCode#PRODUCER_FENCED}. The
   * acknowledgement's offset is the batch's first.
   *
   * <p>Also fails with {@link ErrorCode#PUBLISH_BACKPRESSURE}, {@link ErrorCode#MESSAGE_TOO_LARGE}
   * (any one message), {@link ErrorCode#STREAM_FULL}, {@link ErrorCode#PARTITION_CLOSED}, or the
   * log's error ({@link ErrorCode#LOG_BATCH_TOO_LARGE} for a batch past the log's limit).
   */
  public CompletableFuture<PublishAck> publishBatch(
      List<Message> messages, ProducerSequence producer) {
    if (messages.isEmpty()) {
      return CompletableFuture.failedFuture(
          SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "a batch needs a message"));
    }
    return post(new Batch(List.copyOf(messages), producer, new CompletableFuture<>()));
  }

  /**
   * The producer state of this partition: every idempotent producer it remembers (any thread;
   * answered by the owner in its next duty cycle). Fails with {@link ErrorCode#PARTITION_CLOSED},
   * or {@link ErrorCode#PUBLISH_BACKPRESSURE} when {@link #MAX_INSPECTIONS} are already waiting.
   */
  public CompletableFuture<List<ProducerInfo>> producers() {
    CompletableFuture<List<ProducerInfo>> out = new CompletableFuture<>();
    if (closed) {
      out.completeExceptionally(
          SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition));
    } else if (!inspections.offer(() -> out.complete(producers.describe()))) {
      out.completeExceptionally(
          SwitchboardException.of(
              ErrorCode.PUBLISH_BACKPRESSURE, stream, partition, MAX_INSPECTIONS));
    } else {
      wakeUp.run();
    }
    return out;
  }

  private CompletableFuture<PublishAck> post(Command c) {
    CompletableFuture<PublishAck> ack = c.ack();
    if (closed) {
      ack.completeExceptionally(
          SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition));
    } else if (!queue.offer(c)) {
      ack.completeExceptionally(
          SwitchboardException.of(
              ErrorCode.PUBLISH_BACKPRESSURE, stream, partition, queue.capacity()));
    } else {
      wakeUp.run();
    }
    return ack;
  }

  /**
   * One duty cycle (owner thread only).
   *
   * @return publishes handled; 0 when idle
   */
  @Override
  public int doWork() {
    int handled = 0;
    Runnable inspection;
    while ((inspection = inspections.relaxedPoll()) != null) {
      inspection.run();
      handled++;
    }
    long now = clock.nowMs();
    expireDedup(now);
    RecordBatchBuilder builder = null;
    // The producer whose records the current batch holds (-1: plain records) and its next sequence.
    long batchProducer = -1;
    int batchNextSequence = -1;
    Command c;
    while (handled < MAX_COMMANDS_PER_CYCLE && (c = queue.relaxedPoll()) != null) {
      handled++;
      current = c;
      if (closed) {
        c.ack()
            .completeExceptionally(
                SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition));
        continue;
      }
      if (c instanceof Batch b) {
        // A producer's batch stays one record batch: what this cycle batched goes first.
        if (builder != null) {
          appendBatch(builder);
          builder = null;
        }
        appendProducerBatch(b, now);
        current = null;
        continue;
      }
      Publish p = (Publish) c;
      int size = p.message().payload().length;
      if (size > config.maxMessageBytes()) {
        p.ack()
            .completeExceptionally(
                SwitchboardException.of(
                    ErrorCode.MESSAGE_TOO_LARGE, size, stream, config.maxMessageBytes()));
        continue;
      }
      ProducerSequence ps = p.producer();
      if (ps != null) {
        ProducerStates.Verdict verdict = producers.check(ps);
        if (verdict instanceof ProducerStates.Reject r) {
          p.ack().completeExceptionally(r.error());
          continue;
        }
        if (verdict instanceof ProducerStates.Duplicate d) {
          acknowledgeDuplicate(p, new Seen(d.offset(), now, d.original()));
          continue;
        }
      }
      if (p.messageId() != null) {
        Seen seen = dedup.get(p.messageId());
        if (seen != null) {
          acknowledgeDuplicate(p, seen);
          continue;
        }
      }
      if (p.expectedLastOffset() != NO_EXPECTATION && !expectationHolds(p)) {
        continue;
      }
      if (config.discard() == Discard.REJECT_NEW
          && isFull(inBatch.size(), builder == null ? 0 : builder.estimatedSizeInBytes())) {
        p.ack()
            .completeExceptionally(
                SwitchboardException.of(ErrorCode.STREAM_FULL, stream, partition, limitsText()));
        continue;
      }
      // A batch header names one producer and a run of its sequences: start a new batch when
      // this record does not continue the current one.
      long pid = ps == null ? -1 : ps.producerId();
      if (builder != null
          && (pid != batchProducer || (ps != null && ps.sequence() != batchNextSequence))) {
        appendBatch(builder);
        builder = null;
      }
      if (builder == null) {
        builder = reusableBuilder.reset(); // build() copies: the buffer is free again after it
        if (ps != null) {
          builder.producer(ps.producerId(), ps.epoch(), ps.sequence());
        }
        batchProducer = pid;
      }
      batchNextSequence = ps == null ? -1 : ps.sequence() + 1;
      addRecord(builder, p.message(), p.messageId(), now);
      // Provisional offset: this thread is the only appender, so it is exact.
      long offset = log.logEndOffset() + inBatch.size();
      if (p.messageId() != null) {
        remember(p.messageId(), new Seen(offset, now, p.ack()));
      }
      if (ps != null) {
        producers.stored(ps, offset, p.ack(), timestampOf(p.message(), now));
      }
      undo.add(indexBatched(p.message().subject(), offset));
      inBatch.add(p);
      current = null;
      if (builder.estimatedSizeInBytes() >= TARGET_BATCH_BYTES) {
        appendBatch(builder);
        builder = null;
      }
    }
    current = null;
    if (builder != null) {
      appendBatch(builder);
    }
    if (handled > 0 && config.discard() == Discard.DROP_OLDEST) {
      trimToMaxMessages();
    }
    return handled;
  }

  /** This partition's share of the stream's message limit, or -1. */
  private long messageLimit() {
    return config.maxMessages() < 0
        ? -1
        : (config.maxMessages() + config.partitions() - 1) / config.partitions();
  }

  /** This partition's share of the stream's byte limit, or -1. */
  private long byteLimit() {
    return config.maxBytes() < 0
        ? -1
        : (config.maxBytes() + config.partitions() - 1) / config.partitions();
  }

  /** Whether one more message would pass a limit, counting what this cycle has batched. */
  private boolean isFull(int batchedMessages, int batchedBytes) {
    long messages = log.logEndOffset() - log.logStartOffset() + batchedMessages;
    long messageLimit = messageLimit();
    long byteLimit = byteLimit();
    return (messageLimit > 0 && messages >= messageLimit)
        || (byteLimit > 0 && log.sizeInBytes() + batchedBytes >= byteLimit);
  }

  private String limitsText() {
    return "maxMessages " + config.maxMessages() + ", maxBytes " + config.maxBytes();
  }

  /**
   * Drops the oldest messages past the message limit by moving the log start, in memory only (no
   * I/O on this thread): the log's flusher checkpoints it with its next interval pass and retention
   * deletes the segments below it. Done in steps of 1/64 of the limit, so readers may see up to
   * that many extra old messages meanwhile, and after a crash until the next checkpoint.
   */
  private void trimToMaxMessages() {
    long limit = messageLimit();
    if (limit < 0) {
      return;
    }
    long excess = log.logEndOffset() - log.logStartOffset() - limit;
    if (excess > 0 && excess >= Math.max(1, limit / 64)) {
      log.advanceLogStart(log.logEndOffset() - limit);
    }
  }

  /** The timestamp a message is stored with. */
  private static long timestampOf(Message m, long now) {
    return m.timestampMs() > 0 ? m.timestampMs() : now;
  }

  private void addRecord(RecordBatchBuilder builder, Message m, String messageId, long now) {
    List<Header> headers = new ArrayList<>(m.headers().size() + 3);
    headers.add(
        new Header(
            RecordBatchDescriptor.SUBJECT_HEADER, m.subject().getBytes(StandardCharsets.UTF_8)));
    if (messageId != null) {
      headers.add(new Header(MESSAGE_ID_HEADER, messageId.getBytes(StandardCharsets.UTF_8)));
    }
    if (m.replyTo() != null) {
      headers.add(new Header(REPLY_TO_HEADER, m.replyTo().getBytes(StandardCharsets.UTF_8)));
    }
    headers.addAll(m.headers());
    long timestamp = m.timestampMs() > 0 ? m.timestampMs() : now;
    builder.appendBytes(timestamp, m.key(), m.payload(), headers);
  }

  /** Appends the batch {@link #inBatch} holds and answers its publishes when it is durable. */
  private void appendBatch(RecordBatchBuilder builder) {
    CompletableFuture<?> appended;
    long base = log.logEndOffset();
    try {
      appended = log.append(builder.build());
    } catch (SwitchboardException e) {
      failBatch(e);
      return;
    }
    List<Publish> acks = List.copyOf(inBatch);
    inBatch.clear();
    undo.clear();
    appended.whenComplete(
        (r, e) -> {
          for (int i = 0; i < acks.size(); i++) {
            Publish p = acks.get(i);
            if (e != null) {
              p.ack()
                  .completeExceptionally(e instanceof CompletionException ce ? ce.getCause() : e);
            } else {
              p.ack().complete(new PublishAck(stream, partition, base + i, durability, false));
            }
          }
        });
  }

  /**
   * Checks and appends a producer's batch as one record batch, then notes its producer sequences
   * and subjects. Nothing is noted before the append succeeds, so a refusal leaves no trace.
   */
  private void appendProducerBatch(Batch b, long now) {
    List<Message> messages = b.messages();
    int bytes = 0;
    for (Message m : messages) {
      int size = m.payload().length;
      if (size > config.maxMessageBytes()) {
        b.ack()
            .completeExceptionally(
                SwitchboardException.of(
                    ErrorCode.MESSAGE_TOO_LARGE, size, stream, config.maxMessageBytes()));
        return;
      }
      bytes += size;
    }
    ProducerSequence ps = b.producer();
    if (ps != null) {
      ProducerStates.Verdict verdict = producers.check(ps, messages.size());
      if (verdict instanceof ProducerStates.Reject r) {
        b.ack().completeExceptionally(r.error());
        return;
      }
      if (verdict instanceof ProducerStates.Duplicate d) {
        acknowledgeDuplicate(b.ack(), new Seen(d.offset(), now, d.original()));
        return;
      }
    }
    if (config.discard() == Discard.REJECT_NEW && isFull(messages.size() - 1, bytes)) {
      b.ack()
          .completeExceptionally(
              SwitchboardException.of(ErrorCode.STREAM_FULL, stream, partition, limitsText()));
      return;
    }
    RecordBatchBuilder builder = reusableBuilder.reset();
    if (ps != null) {
      builder.producer(ps.producerId(), ps.epoch(), ps.sequence());
    }
    for (Message m : messages) {
      addRecord(builder, m, null, now);
    }
    long base = log.logEndOffset();
    CompletableFuture<?> appended;
    try {
      appended = log.append(builder.build());
    } catch (SwitchboardException e) {
      b.ack().completeExceptionally(e);
      return;
    }
    if (ps != null) {
      long largest = -1;
      for (Message m : messages) {
        largest = Math.max(largest, timestampOf(m, now));
      }
      producers.stored(ps, messages.size(), base, b.ack(), largest);
    }
    for (int i = 0; i < messages.size(); i++) {
      indexSubject(messages.get(i).subject(), base + i);
    }
    appended.whenComplete(
        (r, e) -> {
          if (e != null) {
            b.ack().completeExceptionally(e instanceof CompletionException ce ? ce.getCause() : e);
          } else {
            b.ack().complete(new PublishAck(stream, partition, base, durability, false));
          }
        });
  }

  /**
   * A duplicate is acknowledged only once its original is: at once when that is durable already,
   * else when (and as) the original's acknowledgement completes.
   */
  private void acknowledgeDuplicate(Publish p, Seen seen) {
    acknowledgeDuplicate(p.ack(), seen);
  }

  private void acknowledgeDuplicate(CompletableFuture<PublishAck> ack, Seen seen) {
    if (seen.original() == null) {
      ack.complete(new PublishAck(stream, partition, seen.offset(), durability, true));
      return;
    }
    // The offset is the one noted when the original was batched (exact: this thread is the only
    // appender); a retry of part of a batch names its own first record, not the batch's.
    seen.original()
        .whenComplete(
            (a, e) -> {
              if (e != null) {
                ack.completeExceptionally(e);
              } else {
                ack.complete(
                    new PublishAck(stream, partition, seen.offset(), a.durability(), true));
              }
            });
  }

  private void remember(String messageId, Seen seen) {
    if (config.duplicateWindowMs() == 0) {
      return;
    }
    dedup.put(messageId, seen);
    if (dedup.size() > MAX_DEDUP_IDS) {
      Iterator<Map.Entry<String, Seen>> oldest = dedup.entrySet().iterator();
      oldest.next();
      oldest.remove();
    }
  }

  /**
   * Fails every publish of the batch being built with {@code error}, undoing what batching it
   * changed (newest first): its remembered message id, its producer sequence, its subject's last
   * offset. A retry then starts afresh rather than meeting a duplicate of a publish never stored.
   */
  private void failBatch(SwitchboardException error) {
    for (int i = inBatch.size() - 1; i >= 0; i--) {
      Publish p = inBatch.get(i);
      Undo u = undo.get(i);
      if (p.messageId() != null) {
        dedup.remove(p.messageId());
      }
      if (p.producer() != null) {
        producers.unstored(p.producer());
      }
      if (u.indexed()) {
        if (u.previousOffset() == null) {
          lastOffsetBySubject.remove(u.subject());
        } else {
          lastOffsetBySubject.put(u.subject(), u.previousOffset());
        }
      }
      p.ack().completeExceptionally(error);
    }
    inBatch.clear();
    undo.clear();
  }

  /**
   * The runner saw a duty cycle throw: fails the publish in hand and the batch not yet appended
   * with {@link ErrorCode#INTERNAL}, undoing their provisional state. Publishes still queued are
   * served by the next cycle. Owner thread only.
   */
  @Override
  public void dutyCycleFailed(RuntimeException e) {
    SwitchboardException error =
        e instanceof SwitchboardException se
            ? se
            : SwitchboardException.of(ErrorCode.INTERNAL, e.toString());
    Command c = current;
    current = null;
    if (c instanceof Batch b) {
      b.ack().completeExceptionally(error); // it notes its state only once appended
    } else if (c instanceof Publish p) {
      // Not batched yet: undo whatever of its state the failed cycle had already noted.
      Seen seen = p.messageId() == null ? null : dedup.get(p.messageId());
      if (seen != null && seen.original() == p.ack()) {
        dedup.remove(p.messageId());
      }
      if (p.producer() != null) {
        producers.unstored(p.producer());
      }
      p.ack().completeExceptionally(error);
    }
    failBatch(error);
  }

  private void expireDedup(long now) {
    Iterator<Map.Entry<String, Seen>> it = dedup.entrySet().iterator();
    while (it.hasNext()) {
      if (now - it.next().getValue().seenMs() < config.duplicateWindowMs()) {
        break;
      }
      it.remove();
    }
  }

  /**
   * Fails the publish (and returns false) unless its subject's last offset is the expected one.
   * Publishes earlier in the same cycle count: the index is updated as each is batched.
   */
  private boolean expectationHolds(Publish p) {
    String subject = p.message().subject();
    Long last = lastOffsetBySubject.get(subject);
    if (last == null && subjectIndexFull) {
      p.ack()
          .completeExceptionally(
              SwitchboardException.of(
                  ErrorCode.SUBJECT_INDEX_FULL, stream, partition, MAX_INDEXED_SUBJECTS, subject));
      return false;
    }
    long current = last == null ? NO_OFFSET : last;
    if (current != p.expectedLastOffset()) {
      p.ack()
          .completeExceptionally(
              SwitchboardException.of(
                  ErrorCode.PUBLISH_CONFLICT, subject, current, p.expectedLastOffset()));
      return false;
    }
    return true;
  }

  /** Notes {@code subject}'s last offset; false when the full index could not take it. */
  private boolean indexSubject(String subject, long offset) {
    if (indexIsFullFor(subject)) {
      return false;
    }
    lastOffsetBySubject.put(subject, offset);
    return true;
  }

  /** {@link #indexSubject} for a publish being batched: what to restore if the batch fails. */
  private Undo indexBatched(String subject, long offset) {
    if (indexIsFullFor(subject)) {
      return new Undo(subject, null, false);
    }
    return new Undo(subject, lastOffsetBySubject.put(subject, offset), true); // one look-up
  }

  private boolean indexIsFullFor(String subject) {
    if (lastOffsetBySubject.size() >= MAX_INDEXED_SUBJECTS
        && !lastOffsetBySubject.containsKey(subject)) {
      subjectIndexFull = true;
      return true;
    }
    return false;
  }

  /**
   * The offset of the last message on {@code subject} in this partition, {@link #NO_OFFSET} when
   * there is none. Any thread.
   *
   * @throws SwitchboardException {@link ErrorCode#SUBJECT_INDEX_FULL} when the index could not take
   *     this subject
   */
  public long lastOffset(String subject) {
    Long last = lastOffsetBySubject.get(subject);
    if (last == null && subjectIndexFull) {
      throw SwitchboardException.of(
          ErrorCode.SUBJECT_INDEX_FULL, stream, partition, MAX_INDEXED_SUBJECTS, subject);
    }
    return last == null ? NO_OFFSET : last;
  }

  /** A copy of the subject index: each subject's last offset in this partition. Any thread. */
  public Map<String, Long> lastOffsets() {
    return Map.copyOf(lastOffsetBySubject);
  }

  /**
   * Rebuilds the subject index (every record) and the de-duplication ids (records of the last
   * window) in one pass over the log. Its cost grows with the partition; a persisted snapshot of
   * the index is future work.
   */
  private void rebuildFromLog() {
    long now = clock.nowMs();
    long windowStart = now - config.duplicateWindowMs();
    long offset = log.logStartOffset();
    while (offset < log.logEndOffset()) {
      List<RecordBatch> batches = log.read(offset, 1 << 20).batches();
      if (batches.isEmpty()) {
        break;
      }
      for (RecordBatch b : batches) {
        if (b.baseOffset() >= offset) {
          producers.replay(
              b.producerId(),
              b.producerEpoch(),
              b.baseSequence(),
              b.baseOffset(),
              b.lastOffsetDelta() + 1,
              b.maxTimestamp());
        }
        for (Record r : b.records(log.config().maxBatchBytes())) {
          if (r.offset() < offset) {
            continue;
          }
          String subject = r.subject();
          if (subject != null) {
            indexSubject(subject, r.offset());
          }
          byte[] id = r.header(MESSAGE_ID_HEADER);
          if (id != null && config.duplicateWindowMs() > 0 && r.timestamp() >= windowStart) {
            // Seen-time is the record's own, so the window ends when it would have.
            dedup.put(
                new String(id, StandardCharsets.UTF_8), new Seen(r.offset(), r.timestamp(), null));
          }
        }
        offset = Math.max(offset, b.nextOffset());
      }
    }
  }

  /** Publishes waiting in the queue. */
  public int queued() {
    return queue.size();
  }

  /** Fails what is still queued and closes the log. Call from the owner, after the runner stops. */
  @Override
  public void close() {
    closed = true;
    Runnable inspection;
    while ((inspection = inspections.relaxedPoll()) != null) {
      inspection.run(); // the owner's state is still whole: answer it
    }
    Command c;
    while ((c = queue.relaxedPoll()) != null) {
      c.ack()
          .completeExceptionally(
              SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition));
    }
    log.close();
  }

  @Override
  public String toString() {
    return "PartitionAgent[" + stream + "/" + partition + "]";
  }
}
