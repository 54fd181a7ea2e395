package io.switchboard.http;

import io.netty.util.concurrent.EventExecutor;
import io.switchboard.broker.Broker;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.TailRead;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;
import io.switchboard.core.subject.Subjects;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.StreamReads;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replays a stream from a position and then follows it live, handing each message on with the
 * stream position just after it: the next offset of every partition, comma-separated ({@code 42}
 * for one partition, {@code 42,17,9} for three). Following again from a position a reader was
 * handed continues right after that message — nothing lost, nothing repeated — since the stream
 * keeps what was published meanwhile. Behind the SSE stream events ({@link StreamEventStream},
 * positions as event ids) and the WebSocket {@code follow} operation.
 *
 * <p>It keeps nothing in the broker: each partition is read with {@link Broker#tail} from the
 * follower's own next offset, one read at a time, the next one asked for once the last was handed
 * on and the connection can take more (replay never outruns the reader). Closing it is a flag.
 * Messages reach the callback on the given event loop; confined to it after {@link #open}.
 */
final class StreamFollower {
  private static final Logger LOG = LoggerFactory.getLogger(StreamFollower.class);

  /** Names of the consumers followers read through before tail reads (deleted at start). */
  static final String CONSUMER_PREFIX = "http-sse-";

  /** Bytes one read of a partition returns at most. */
  static final int READ_BYTES = 256 * 1024;

  /** How long one read waits at the tail before it is asked again. */
  static final long WAIT_MS = 30_000;

  /** How soon a connection that cannot take more is looked at again. */
  static final long WRITABLE_POLL_MS = 5;

  private final Broker broker;
  private final String stream;
  private final String subject;

  /** The next offset per partition: what a resume continues from. */
  private final long[] next;

  private final EventExecutor loop;
  private final BooleanSupplier writable;
  private final BiConsumer<String, Delivery> sink;
  private final Access access;
  private volatile boolean closed;

  private StreamFollower(
      Broker broker,
      String stream,
      String subject,
      long[] next,
      EventExecutor loop,
      BooleanSupplier writable,
      BiConsumer<String, Delivery> sink,
      Access access) {
    this.broker = broker;
    this.stream = stream;
    this.subject = subject;
    this.next = next;
    this.loop = loop;
    this.writable = writable;
    this.sink = sink;
    this.access = access;
  }

  /**
   * Where to start: {@code position} when given (a position handed out before, to resume), else
   * {@code start}: {@code latest} (what is published from now on), {@code earliest}, or an offset
   * applied to every partition.
   *
   * @param what how the caller names a bad position in errors ({@code Last-Event-ID}, {@code
   *     "position"})
   * @throws SwitchboardException STREAM_NOT_FOUND, INVALID_ARGUMENT
   */
  static long[] startPosition(
      Broker broker, String stream, String position, String start, String what) {
    StreamInfo info = broker.streamInfo(stream);
    int partitions = info.partitions().size();
    if (position != null && !position.isBlank()) {
      return parsePosition(position, partitions, what);
    }
    long[] next = new long[partitions];
    switch (start == null ? "latest" : start) {
      case "latest" -> {
        for (StreamInfo.PartitionInfo pi : info.partitions()) {
          next[pi.partition()] = pi.nextOffset();
        }
      }
      case "earliest" -> Arrays.fill(next, 0);
      default -> {
        long offset;
        try {
          offset = Long.parseLong(start);
        } catch (NumberFormatException e) {
          offset = -1;
        }
        if (offset < 0) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT,
              "start=\"" + start + "\" is not latest, earliest or an offset (>= 0)");
        }
        Arrays.fill(next, offset);
      }
    }
    return next;
  }

  /**
   * Starts following: messages of {@code stream} (matching {@code subject} when given) from {@code
   * next} on reach {@code sink} on {@code loop} with the position after each; those whose subject
   * {@code access} may not subscribe to are skipped ({@link StreamReads}). Codes: STREAM_NOT_FOUND,
   * INVALID_PATTERN, BROKER_CLOSED.
   */
  static StreamFollower open(
      Broker broker,
      String stream,
      String subject,
      long[] next,
      EventExecutor loop,
      BooleanSupplier writable,
      BiConsumer<String, Delivery> sink,
      Access access) {
    if (subject != null) {
      Subjects.validatePattern(subject, SubjectLimits.DEFAULTS);
    }
    broker.streamInfo(stream); // STREAM_NOT_FOUND now rather than from the first read
    StreamFollower f =
        new StreamFollower(broker, stream, subject, next, loop, writable, sink, access);
    for (int p = 0; p < next.length; p++) {
      f.read(p);
    }
    return f;
  }

  /** Event loop: asks for partition {@code p}'s next messages. */
  private void read(int p) {
    if (closed) {
      return;
    }
    if (!writable.getAsBoolean()) {
      loop.schedule(() -> read(p), WRITABLE_POLL_MS, TimeUnit.MILLISECONDS);
      return;
    }
    broker
        .tail(stream, p, next[p], READ_BYTES, WAIT_MS, loop)
        .whenComplete((r, e) -> read(p, r, e));
  }

  private void read(int p, TailRead r, Throwable e) {
    if (closed) {
      return;
    }
    if (e != null) {
      // The stream was deleted, or the server is stopping: this partition has nothing more.
      LOG.debug("SB-HTTP-4101 follow of {} partition {} ends: {}", stream, p, e.toString());
      return;
    }
    Decision whole;
    try {
      whole = StreamReads.stream(access, broker, stream); // the rules may have changed
    } catch (SwitchboardException deleted) {
      whole = Decision.FILTER; // decided message by message
    }
    for (StoredMessage m : r.messages()) {
      if (closed) {
        return;
      }
      if (m.offset() < next[p]) {
        continue; // before the resume point of its partition: the reader has it already
      }
      next[p] = m.offset() + 1;
      if ((subject == null || Subjects.matches(subject, m.message().subject()))
          && StreamReads.readable(access, whole, m.message().subject())) {
        sink.accept(position(next), new Delivery(stream, null, p, m.offset(), 1, m.message()));
      }
    }
    next[p] = Math.max(next[p], r.nextOffset());
    read(p);
  }

  /**
   * Parses a position: one next offset per partition, comma-separated.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT}
   */
  static long[] parsePosition(String id, int partitions, String what) {
    String[] parts = id.strip().split(",", -1);
    if (parts.length != partitions) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          what
              + " \""
              + id
              + "\" names "
              + parts.length
              + " partitions; the stream has "
              + partitions);
    }
    long[] next = new long[partitions];
    for (int i = 0; i < partitions; i++) {
      try {
        next[i] = Long.parseLong(parts[i].strip());
      } catch (NumberFormatException e) {
        next[i] = -1;
      }
      if (next[i] < 0) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            what + " \"" + id + "\" is not one offset (>= 0) per partition");
      }
    }
    return next;
  }

  static String position(long[] next) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < next.length; i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(next[i]);
    }
    return b.toString();
  }

  /** Stops following (event loop). Idempotent; nothing to release in the broker. */
  void close() {
    closed = true;
  }

  /**
   * Declares the consumers followers read through before tail reads the server's own, and deletes
   * those an earlier version left behind.
   */
  static void deleteLeftovers(Broker broker) {
    broker.ownConsumers(CONSUMER_PREFIX, "HTTP stream followers");
    for (StreamInfo s : broker.listStreams()) {
      for (ConsumerInfo c : broker.listConsumers(s.config().name())) {
        if (c.config().name().startsWith(CONSUMER_PREFIX)) {
          try {
            broker.deleteOwnedConsumer(s.config().name(), c.config().name());
          } catch (SwitchboardException e) {
            LOG.warn(
                "SB-HTTP-4102 could not delete a left-over consumer {}: {}",
                c.config().name(),
                e.getMessage());
          }
        }
      }
    }
  }
}
