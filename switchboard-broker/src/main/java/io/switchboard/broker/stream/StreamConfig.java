package io.switchboard.broker.stream;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectLimits;
import io.switchboard.core.subject.Subjects;
import io.switchboard.log.FsyncPolicy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A stream's definition. Immutable; the compact constructor checks every field and reports every
 * problem at once. Limits of -1 mean "none".
 *
 * @param name 1–64 of {@code A-Z a-z 0-9 _ -} (it names a directory)
 * @param subjects the patterns the stream captures
 * @param partitions how many partitions (by key hash, else by subject)
 * @param retention what the stream keeps
 * @param maxAgeMs remove messages older than this
 * @param maxBytes keep at most this many bytes
 * @param maxMessages keep at most this many messages
 * @param maxMessagesPerSubject keep at most this many messages per subject in each partition: the
 *     oldest surplus is removed by compaction once its segment is sealed (within about an hour)
 * @param maxMessageBytes largest message accepted
 * @param discard what a full stream does with a new message
 * @param fsync when a publish is forced to disk before it is acknowledged
 * @param duplicateWindowMs how long message ids are remembered for de-duplication (0 = off)
 * @param schema the schema every message must have ({@link StreamSchema}), or null for none
 */
public record StreamConfig(
    String name,
    List<String> subjects,
    int partitions,
    Retention retention,
    long maxAgeMs,
    long maxBytes,
    long maxMessages,
    long maxMessagesPerSubject,
    int maxMessageBytes,
    Discard discard,
    FsyncPolicy fsync,
    long duplicateWindowMs,
    @com.fasterxml.jackson.annotation.JsonInclude(
            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        StreamSchema schema) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** 1,024: partitions are directories and owner queues; more is a configuration mistake. */
  public static final int MAX_PARTITIONS = 1024;

  /** 1 MiB, as Kafka's and NATS's defaults. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;

  /** 16 MiB: larger payloads belong in object storage, with a reference in the message. */
  public static final int MAX_MESSAGE_BYTES = 16 << 20;

  /** 2 minutes, as NATS JetStream: covers a producer's retries across a reconnect. */
  public static final long DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

  public StreamConfig {
    List<String> problems = new ArrayList<>();
    if (name == null || !NAME.matcher(name).matches()) {
      problems.add("name must be 1-64 of A-Z a-z 0-9 _ - (got " + name + ")");
    }
    if (subjects == null || subjects.isEmpty()) {
      problems.add("subjects: at least one pattern");
      subjects = List.of();
    } else {
      subjects = List.copyOf(subjects);
      if (new HashSet<>(subjects).size() != subjects.size()) {
        problems.add("subjects: duplicate patterns");
      }
      for (String s : subjects) {
        try {
          Subjects.validatePattern(s, SubjectLimits.DEFAULTS);
        } catch (SwitchboardException e) {
          problems.add("subjects: " + e.getMessage());
        }
      }
    }
    if (partitions < 1 || partitions > MAX_PARTITIONS) {
      problems.add("partitions=" + partitions + " not in [1, " + MAX_PARTITIONS + "]");
    }
    if (retention == null) {
      problems.add("retention must be set");
    }
    checkLimit(problems, "maxAgeMs", maxAgeMs);
    checkLimit(problems, "maxBytes", maxBytes);
    checkLimit(problems, "maxMessages", maxMessages);
    checkLimit(problems, "maxMessagesPerSubject", maxMessagesPerSubject);
    if (maxMessagesPerSubject > 0 && retention == Retention.COMPACTED) {
      problems.add(
          "maxMessagesPerSubject cannot be combined with compacted retention (it keeps one)");
    }
    if (maxMessageBytes < 1 || maxMessageBytes > MAX_MESSAGE_BYTES) {
      problems.add("maxMessageBytes=" + maxMessageBytes + " not in [1, 16 MiB]");
    }
    if (discard == null) {
      problems.add("discard must be set");
    }
    if (fsync == null) {
      problems.add("fsync must be set");
    }
    if (duplicateWindowMs < 0) {
      problems.add("duplicateWindowMs=" + duplicateWindowMs + " must be >= 0");
    }
    if (!problems.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "stream " + name + ": " + String.join("; ", problems));
    }
  }

  /** The fsync policy's name in lower case ({@code always}, {@code interval}, {@code never}). */
  public String fsyncPolicyName() {
    return fsync.name().toLowerCase(java.util.Locale.ROOT);
  }

  private static void checkLimit(List<String> problems, String field, long value) {
    if (value < -1 || value == 0) {
      problems.add(field + "=" + value + " must be > 0 or -1 (none)");
    }
  }

  /** This definition with {@code count} partitions (a stream's partitions may only grow). */
  public StreamConfig withPartitions(int count) {
    return new StreamConfig(
        name,
        subjects,
        count,
        retention,
        maxAgeMs,
        maxBytes,
        maxMessages,
        maxMessagesPerSubject,
        maxMessageBytes,
        discard,
        fsync,
        duplicateWindowMs,
        schema);
  }

  /** A stream with every default: one partition, limits retention, no limits, fsync interval. */
  public static Builder builder(String name, String... subjects) {
    return new Builder(name, List.of(subjects));
  }

  /** Builds a {@link StreamConfig}; confined to one thread. */
  public static final class Builder {
    private final String name;
    private final List<String> subjects;
    private int partitions = 1;
    private Retention retention = Retention.LIMITS;
    private long maxAgeMs = -1;
    private long maxBytes = -1;
    private long maxMessages = -1;
    private long maxMessagesPerSubject = -1;
    private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
    private Discard discard = Discard.DROP_OLDEST;
    private FsyncPolicy fsync = FsyncPolicy.INTERVAL;
    private long duplicateWindowMs = DEFAULT_DUPLICATE_WINDOW_MS;
    private StreamSchema schema;

    private Builder(String name, List<String> subjects) {
      this.name = name;
      this.subjects = subjects;
    }

    public Builder partitions(int value) {
      partitions = value;
      return this;
    }

    public Builder retention(Retention value) {
      retention = value;
      return this;
    }

    public Builder maxAgeMs(long value) {
      maxAgeMs = value;
      return this;
    }

    public Builder maxBytes(long value) {
      maxBytes = value;
      return this;
    }

    public Builder maxMessages(long value) {
      maxMessages = value;
      return this;
    }

    public Builder maxMessagesPerSubject(long value) {
      maxMessagesPerSubject = value;
      return this;
    }

    public Builder maxMessageBytes(int value) {
      maxMessageBytes = value;
      return this;
    }

    public Builder discard(Discard value) {
      discard = value;
      return this;
    }

    public Builder fsync(FsyncPolicy value) {
      fsync = value;
      return this;
    }

    /**
     * The fsync policy by its name ({@code always}, {@code interval}, {@code never}, any case), for
     * front ends, which do not see the log's types.
     *
     * @throws IllegalArgumentException for another name
     */
    public Builder fsyncPolicy(String name) {
      try {
        fsync = FsyncPolicy.valueOf(name.toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "fsync policy " + name + ": one of always, interval, never");
      }
      return this;
    }

    public Builder duplicateWindowMs(long value) {
      duplicateWindowMs = value;
      return this;
    }

    /** The schema every message must have; null for none. */
    public Builder schema(StreamSchema value) {
      schema = value;
      return this;
    }

    public StreamConfig build() {
      return new StreamConfig(
          name,
          subjects,
          partitions,
          retention,
          maxAgeMs,
          maxBytes,
          maxMessages,
          maxMessagesPerSubject,
          maxMessageBytes,
          discard,
          fsync,
          duplicateWindowMs,
          schema);
    }
  }
}
