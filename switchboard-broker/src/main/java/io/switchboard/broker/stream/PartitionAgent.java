package io.switchboard.broker.stream;

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
public final class PartitionAgent implements AutoCloseable {
  /** Record header holding a publish's message id. */
  public static final String MESSAGE_ID_HEADER = "sb-msg-id";

  /** Record header holding a request's reply subject. */
  public static final String REPLY_TO_HEADER = "sb-reply-to";

  /** Publishes handled per duty cycle, so one busy partition cannot starve others on a runner. */
  static final int MAX_COMMANDS_PER_CYCLE = 1024;

  /** 256 KiB batches: large enough to amortize an append, small enough to keep latency low. */
  static final int TARGET_BATCH_BYTES = 256 * 1024;

  /** 1M remembered message ids per partition bounds de-duplication memory (~100 MB worst case). */
  static final int MAX_DEDUP_IDS = 1_000_000;

  private record Publish(Message message, String messageId, CompletableFuture<PublishAck> ack) {}

  private final String stream;
  private final int partition;
  private final PartitionLog log;
  private final StreamConfig config;
  private final Clock clock;
  private final MpscArrayQueue<Publish> queue;
  private final Durability durability;

  /**
   * A remembered message id: where it was stored, when it was first seen, and the original
   * publish's acknowledgement (null when rebuilt from the log, i.e. already durable).
   */
  private record Seen(long offset, long seenMs, CompletableFuture<PublishAck> original) {}

  /** Message id to where it went, oldest first. Owner-thread only. */
  private final LinkedHashMap<String, Seen> dedup = new LinkedHashMap<>();

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
    rebuildDedup();
  }

  /** Set by the runner that owns this agent: how a posted command wakes it. */
  void onWork(Runnable wakeUp) {
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
    CompletableFuture<PublishAck> ack = new CompletableFuture<>();
    if (closed) {
      ack.completeExceptionally(
          SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition));
    } else if (!queue.offer(new Publish(message, messageId, ack))) {
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
  public int doWork() {
    int handled = 0;
    long now = clock.nowMs();
    expireDedup(now);
    RecordBatchBuilder builder = null;
    List<Publish> inBatch = new ArrayList<>();
    Publish p;
    while (handled < MAX_COMMANDS_PER_CYCLE && (p = queue.relaxedPoll()) != null) {
      handled++;
      if (closed) {
        p.ack()
            .completeExceptionally(
                SwitchboardException.of(ErrorCode.PARTITION_CLOSED, stream, partition));
        continue;
      }
      int size = p.message().payload().length;
      if (size > config.maxMessageBytes()) {
        p.ack()
            .completeExceptionally(
                SwitchboardException.of(
                    ErrorCode.MESSAGE_TOO_LARGE, size, stream, config.maxMessageBytes()));
        continue;
      }
      if (p.messageId() != null) {
        Seen seen = dedup.get(p.messageId());
        if (seen != null) {
          acknowledgeDuplicate(p, seen);
          continue;
        }
      }
      if (builder == null) {
        builder = new RecordBatchBuilder(Compression.NONE);
      }
      addRecord(builder, p, now);
      // Provisional offset: this thread is the only appender, so it is exact.
      long offset = log.logEndOffset() + inBatch.size();
      if (p.messageId() != null) {
        remember(p.messageId(), new Seen(offset, now, p.ack()));
      }
      inBatch.add(p);
      if (builder.estimatedSizeInBytes() >= TARGET_BATCH_BYTES) {
        appendBatch(builder, inBatch);
        builder = null;
        inBatch = new ArrayList<>();
      }
    }
    if (builder != null) {
      appendBatch(builder, inBatch);
    }
    return handled;
  }

  private void addRecord(RecordBatchBuilder builder, Publish p, long now) {
    Message m = p.message();
    List<Header> headers = new ArrayList<>(m.headers().size() + 3);
    headers.add(
        new Header(
            RecordBatchDescriptor.SUBJECT_HEADER, m.subject().getBytes(StandardCharsets.UTF_8)));
    if (p.messageId() != null) {
      headers.add(new Header(MESSAGE_ID_HEADER, p.messageId().getBytes(StandardCharsets.UTF_8)));
    }
    if (m.replyTo() != null) {
      headers.add(new Header(REPLY_TO_HEADER, m.replyTo().getBytes(StandardCharsets.UTF_8)));
    }
    headers.addAll(m.headers());
    long timestamp = m.timestampMs() > 0 ? m.timestampMs() : now;
    builder.appendBytes(timestamp, m.key(), m.payload(), headers);
  }

  private void appendBatch(RecordBatchBuilder builder, List<Publish> inBatch) {
    CompletableFuture<?> appended;
    long base = log.logEndOffset();
    try {
      appended = log.append(builder.build());
    } catch (SwitchboardException e) {
      for (Publish p : inBatch) {
        forget(p);
        p.ack().completeExceptionally(e);
      }
      return;
    }
    List<Publish> acks = List.copyOf(inBatch);
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
   * A duplicate is acknowledged only once its original is: at once when that is durable already,
   * else when (and as) the original's acknowledgement completes.
   */
  private void acknowledgeDuplicate(Publish p, Seen seen) {
    if (seen.original() == null) {
      p.ack().complete(new PublishAck(stream, partition, seen.offset(), durability, true));
      return;
    }
    seen.original()
        .whenComplete(
            (a, e) -> {
              if (e != null) {
                p.ack().completeExceptionally(e);
              } else {
                p.ack()
                    .complete(new PublishAck(stream, partition, a.offset(), a.durability(), true));
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

  private void forget(Publish p) {
    if (p.messageId() != null) {
      dedup.remove(p.messageId());
    }
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

  /** Reads the records of the last duplicate window back into the de-duplication map. */
  private void rebuildDedup() {
    if (config.duplicateWindowMs() == 0) {
      return;
    }
    long now = clock.nowMs();
    long from = log.offsetForTimestamp(now - config.duplicateWindowMs());
    if (from < 0) {
      return;
    }
    long offset = Math.max(from, log.logStartOffset());
    while (offset < log.logEndOffset()) {
      List<RecordBatch> batches = log.read(offset, 1 << 20).batches();
      if (batches.isEmpty()) {
        break;
      }
      for (RecordBatch b : batches) {
        for (Record r : b.records(log.config().maxBatchBytes())) {
          byte[] id = r.header(MESSAGE_ID_HEADER);
          if (id != null && r.offset() >= offset) {
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
    Publish p;
    while ((p = queue.relaxedPoll()) != null) {
      p.ack()
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
