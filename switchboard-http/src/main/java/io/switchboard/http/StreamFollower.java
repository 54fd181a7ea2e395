package io.switchboard.http;

import io.netty.util.concurrent.EventExecutor;
import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;
import io.switchboard.core.subject.Subjects;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.BiConsumer;
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
 * <p>It reads through a consumer of its own ({@value #CONSUMER_PREFIX}…, ack policy none), deleted
 * when it is closed; ones a crash left behind are deleted when the HTTP front end starts ({@link
 * #deleteLeftovers}). Messages reach the callback on the given event loop; confined to it after
 * {@link #open}.
 */
final class StreamFollower {
  private static final Logger LOG = LoggerFactory.getLogger(StreamFollower.class);

  /** Names of the consumers followers read through. */
  static final String CONSUMER_PREFIX = "http-sse-";

  /** Messages pushed ahead of the writes: a window, returned as messages are handed on. */
  static final int CREDITS = 256;

  private final Broker broker;
  private final String stream;
  private final String consumer;

  /** The next offset per partition: what a resume continues from. */
  private final long[] next;

  private final BiConsumer<String, Delivery> sink;
  private PushSubscription push;
  private boolean closed;

  private StreamFollower(
      Broker broker, String stream, long[] next, BiConsumer<String, Delivery> sink) {
    this.broker = broker;
    this.stream = stream;
    this.consumer = CONSUMER_PREFIX + UUID.randomUUID().toString().replace("-", "");
    this.next = next;
    this.sink = sink;
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
   * next} on reach {@code sink} on {@code loop} with the position after each. Codes:
   * STREAM_NOT_FOUND, INVALID_PATTERN, BROKER_CLOSED.
   */
  static StreamFollower open(
      Broker broker,
      String stream,
      String subject,
      long[] next,
      EventExecutor loop,
      BiConsumer<String, Delivery> sink) {
    if (subject != null) {
      Subjects.validatePattern(subject, SubjectLimits.DEFAULTS);
    }
    StreamFollower f = new StreamFollower(broker, stream, next, sink);
    // Starts at the lowest position of any partition; deliver() skips what lies before the
    // position of its own partition.
    ConsumerConfig config =
        ConsumerConfig.builder(f.consumer)
            .filter(subject)
            .ackPolicy(AckPolicy.NONE)
            .startOffset(Arrays.stream(next).min().orElse(0))
            .build();
    broker.createOwnedConsumer(stream, config);
    try {
      f.push =
          broker.push(stream, f.consumer, "http", CREDITS, d -> loop.execute(() -> f.deliver(d)));
    } catch (RuntimeException e) {
      f.close();
      throw e;
    }
    return f;
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

  private void deliver(Delivery d) {
    if (closed) {
      return;
    }
    push.returnCredit();
    int p = d.partition();
    if (d.offset() < next[p]) {
      return; // before the resume point of its partition: the reader has it already
    }
    next[p] = d.offset() + 1;
    sink.accept(position(next), d);
  }

  /** Stops following and deletes the consumer (off the calling thread). Idempotent. */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    PushSubscription p = push;
    // Closing a push subscription joins its thread: never on the event loop.
    Thread.ofVirtual()
        .name("sb-http-follow-close")
        .start(
            () -> {
              if (p != null) {
                p.close();
              }
              try {
                broker.deleteOwnedConsumer(stream, consumer);
              } catch (SwitchboardException e) {
                if (e.code() != ErrorCode.CONSUMER_NOT_FOUND) {
                  LOG.warn(
                      "SB-HTTP-4101 could not delete consumer {} of {}: {}",
                      consumer,
                      stream,
                      e.getMessage());
                }
              }
            });
  }

  /**
   * Declares the followers' consumers the server's own (admin calls may not touch them) and deletes
   * those a crash ended without their cleanup.
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
