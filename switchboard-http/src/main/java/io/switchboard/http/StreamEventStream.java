package io.switchboard.http;

import io.netty.channel.ChannelHandlerContext;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /v1/streams/{stream}/events?subject=&start=}: a stream's messages as Server-Sent
 * Events, replayed from a position and then followed live — resumable exactly. Each event's id is
 * the stream position just after it: the next offset of every partition, comma-separated ({@code
 * 42} for one partition, {@code 42,17,9} for three). A reconnect that sends it back as {@code
 * Last-Event-ID} (the browser's EventSource does so by itself) continues right after that event:
 * nothing lost, nothing repeated, since the stream keeps what was published meanwhile.
 *
 * <p>It reads through a consumer of its own ({@value #CONSUMER_PREFIX}…, ack policy none), deleted
 * when the event stream ends; ones a crash left behind are deleted when the HTTP front end starts
 * ({@link #deleteLeftovers}). Confined to the connection's event loop.
 */
final class StreamEventStream extends EventStream {
  private static final Logger LOG = LoggerFactory.getLogger(StreamEventStream.class);

  /** Names of the consumers these streams read through. */
  static final String CONSUMER_PREFIX = "http-sse-";

  /** Messages pushed ahead of the writes: a window, returned as events are written. */
  static final int CREDITS = 256;

  private final String stream;
  private final String consumer;

  /** The next offset per partition: what a resume continues from. */
  private final long[] next;

  private PushSubscription push;

  private StreamEventStream(
      ChannelHandlerContext ctx, HttpService service, String stream, long[] next) {
    super(ctx, service);
    this.stream = stream;
    this.consumer = CONSUMER_PREFIX + UUID.randomUUID().toString().replace("-", "");
    this.next = next;
  }

  /**
   * Opens the stream. Codes: STREAM_NOT_FOUND, INVALID_ARGUMENT (a bad start or Last-Event-ID),
   * INVALID_PATTERN, TOO_MANY_CONNECTIONS, BROKER_CLOSED.
   */
  static EventStream open(ChannelHandlerContext ctx, Exchange x, HttpService service) {
    Broker broker = service.broker();
    String stream = x.param("stream");
    StreamInfo info = broker.streamInfo(stream);
    int partitions = info.partitions().size();
    String resume = x.headers().get("Last-Event-ID");
    long[] next = new long[partitions];
    if (resume != null && !resume.isBlank()) {
      next = parsePosition(resume, partitions);
    } else {
      String start = x.query("start", "latest");
      switch (start) {
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
    }
    String subject = x.query("subject", null);
    if (subject != null) {
      Subjects.validatePattern(subject, SubjectLimits.DEFAULTS);
    }
    StreamEventStream s = new StreamEventStream(ctx, service, stream, next);
    // Starts at the lowest position of any partition; deliver() skips what lies before the
    // position of its own partition.
    ConsumerConfig config =
        ConsumerConfig.builder(s.consumer)
            .filter(subject)
            .ackPolicy(AckPolicy.NONE)
            .startOffset(Arrays.stream(next).min().orElse(0))
            .build();
    s.reserve();
    try {
      broker.createConsumer(stream, config);
      s.push =
          broker.push(
              stream, s.consumer, "sse", CREDITS, d -> ctx.executor().execute(() -> s.deliver(d)));
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.begin();
    return s;
  }

  /**
   * Parses a position: one next offset per partition, comma-separated.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT}
   */
  static long[] parsePosition(String id, int partitions) {
    String[] parts = id.strip().split(",", -1);
    if (parts.length != partitions) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "Last-Event-ID \""
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
            "Last-Event-ID \"" + id + "\" is not one offset (>= 0) per partition");
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
    if (ended()) {
      return;
    }
    push.returnCredit();
    int p = d.partition();
    if (d.offset() < next[p]) {
      return; // before the resume point of its partition: the reader has it already
    }
    next[p] = d.offset() + 1;
    event(position(next), "message", MessageJson.delivery(d).toString());
    service.metrics().delivered(HttpMetrics.Transport.SSE, d.message().payload().length);
  }

  @Override
  protected void closeSource() {
    PushSubscription p = push;
    Broker broker = service.broker();
    // Closing a push subscription joins its thread: never on the event loop.
    Thread.ofVirtual()
        .name("sb-http-sse-close")
        .start(
            () -> {
              if (p != null) {
                p.close();
              }
              try {
                broker.deleteConsumer(stream, consumer);
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

  /** Deletes the consumers of event streams a crash ended without their cleanup. */
  static void deleteLeftovers(Broker broker) {
    for (StreamInfo s : broker.listStreams()) {
      for (ConsumerInfo c : broker.listConsumers(s.config().name())) {
        if (c.config().name().startsWith(CONSUMER_PREFIX)) {
          try {
            broker.deleteConsumer(s.config().name(), c.config().name());
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
