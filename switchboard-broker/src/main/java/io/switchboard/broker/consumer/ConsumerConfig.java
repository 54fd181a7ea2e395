package io.switchboard.broker.consumer;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;
import io.switchboard.core.subject.Subjects;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A durable consumer's definition. Immutable; every problem is reported at once.
 *
 * @param name 1–64 of {@code A-Z a-z 0-9 _ -}
 * @param filter only messages whose subject matches this pattern are delivered; null for all
 * @param mode how messages are spread over members
 * @param start where a new consumer begins
 * @param startOffset the offset for {@link StartPosition#OFFSET}
 * @param startTimeMs the time for {@link StartPosition#TIME}
 * @param ackPolicy how deliveries are acknowledged
 * @param ackTimeoutMs an unacknowledged delivery is redelivered after this
 * @param maxDeliver deliveries before a message goes to the dead-letter subject; -1 unlimited
 * @param backoffMs delay before the n-th redelivery (the last entry repeats); empty for none
 * @param deadLetterSubject where messages go after {@code maxDeliver}; null to drop them
 * @param maxAckPending most unacknowledged messages at once (in flight or waiting to be
 *     redelivered)
 */
public record ConsumerConfig(
    String name,
    String filter,
    DeliveryMode mode,
    StartPosition start,
    long startOffset,
    long startTimeMs,
    AckPolicy ackPolicy,
    long ackTimeoutMs,
    int maxDeliver,
    List<Long> backoffMs,
    String deadLetterSubject,
    int maxAckPending) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** 30 s, as NATS JetStream: long enough for real work, short enough to recover a crash. */
  public static final long DEFAULT_ACK_TIMEOUT_MS = 30_000;

  /** 1,000 unacknowledged messages bound a consumer's memory and a crashed member's backlog. */
  public static final int DEFAULT_MAX_ACK_PENDING = 1000;

  /** 100,000: above it the tracked set would dominate memory; use more consumers instead. */
  public static final int MAX_ACK_PENDING = 100_000;

  public ConsumerConfig {
    List<String> problems = new ArrayList<>();
    if (name == null || !NAME.matcher(name).matches()) {
      problems.add("name must be 1-64 of A-Z a-z 0-9 _ - (got " + name + ")");
    }
    if (filter != null) {
      try {
        Subjects.validatePattern(filter, SubjectLimits.DEFAULTS);
      } catch (SwitchboardException e) {
        problems.add("filter: " + e.getMessage());
      }
    }
    if (mode == null || start == null || ackPolicy == null) {
      problems.add("mode, start and ackPolicy must be set");
    }
    if (start == StartPosition.OFFSET && startOffset < 0) {
      problems.add("startOffset=" + startOffset + " must be >= 0");
    }
    if (ackTimeoutMs < 1) {
      problems.add("ackTimeoutMs=" + ackTimeoutMs + " must be >= 1");
    }
    if (maxDeliver == 0 || maxDeliver < -1) {
      problems.add("maxDeliver=" + maxDeliver + " must be >= 1 or -1 (unlimited)");
    }
    backoffMs = backoffMs == null ? List.of() : List.copyOf(backoffMs);
    for (long b : backoffMs) {
      if (b < 0) {
        problems.add("backoffMs entries must be >= 0 (got " + b + ")");
      }
    }
    if (deadLetterSubject != null) {
      try {
        Subjects.validateSubject(deadLetterSubject, SubjectLimits.DEFAULTS);
      } catch (SwitchboardException e) {
        problems.add("deadLetterSubject: " + e.getMessage());
      }
    }
    if (maxAckPending < 1 || maxAckPending > MAX_ACK_PENDING) {
      problems.add("maxAckPending=" + maxAckPending + " not in [1, " + MAX_ACK_PENDING + "]");
    }
    if (!problems.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "consumer " + name + ": " + String.join("; ", problems));
    }
  }

  /** A shared, pull, ack-each consumer from the earliest message, with every other default. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Builds a {@link ConsumerConfig}; confined to one thread. */
  public static final class Builder {
    private final String name;
    private String filter;
    private DeliveryMode mode = DeliveryMode.SHARED;
    private StartPosition start = StartPosition.EARLIEST;
    private long startOffset;
    private long startTimeMs;
    private AckPolicy ackPolicy = AckPolicy.EACH;
    private long ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS;
    private int maxDeliver = -1;
    private List<Long> backoffMs = List.of();
    private String deadLetterSubject;
    private int maxAckPending = DEFAULT_MAX_ACK_PENDING;

    private Builder(String name) {
      this.name = name;
    }

    public Builder filter(String value) {
      filter = value;
      return this;
    }

    public Builder mode(DeliveryMode value) {
      mode = value;
      return this;
    }

    public Builder startAt(StartPosition value) {
      start = value;
      return this;
    }

    public Builder startOffset(long value) {
      start = StartPosition.OFFSET;
      startOffset = value;
      return this;
    }

    public Builder startTime(long value) {
      start = StartPosition.TIME;
      startTimeMs = value;
      return this;
    }

    public Builder ackPolicy(AckPolicy value) {
      ackPolicy = value;
      return this;
    }

    public Builder ackTimeoutMs(long value) {
      ackTimeoutMs = value;
      return this;
    }

    public Builder maxDeliver(int value) {
      maxDeliver = value;
      return this;
    }

    public Builder backoffMs(Long... values) {
      backoffMs = List.of(values);
      return this;
    }

    public Builder deadLetterSubject(String value) {
      deadLetterSubject = value;
      return this;
    }

    public Builder maxAckPending(int value) {
      maxAckPending = value;
      return this;
    }

    public ConsumerConfig build() {
      return new ConsumerConfig(
          name,
          filter,
          mode,
          start,
          startOffset,
          startTimeMs,
          ackPolicy,
          ackTimeoutMs,
          maxDeliver,
          backoffMs,
          deadLetterSubject,
          maxAckPending);
    }
  }
}
