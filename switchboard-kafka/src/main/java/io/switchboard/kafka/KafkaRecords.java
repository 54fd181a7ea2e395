package io.switchboard.kafka;

import io.switchboard.broker.Broker;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.internals.BufferSupplier;
import org.apache.kafka.common.utils.internals.CloseableIterator;

/**
 * A produced partition's record batches as Switchboard messages (docs/kafka.md "Records"): the key
 * and value, the timestamp, the headers, and the subject — the record's {@code sb-subject} header
 * when it has one, else the stream's Kafka subject ({@link #subjectOf}). Every batch is checked
 * (its CRC, its format) before anything of it is used, and what a compressed batch inflates to is
 * bounded. Stateless.
 */
final class KafkaRecords {
  private KafkaRecords() {}

  /** The header carrying a message's subject, both ways. */
  static final String SUBJECT_HEADER = "sb-subject";

  /** What one batch may inflate to (its records' keys, values and headers together). */
  static final long MAX_INFLATED_BYTES = 64L << 20;

  /** One produced batch, as the broker stores it. */
  record Batch(List<Message> messages, long producerId, short producerEpoch, int baseSequence) {}

  /** A batch refused before any of it is stored; {@code error} is Kafka's answer. */
  static final class Invalid extends Exception {
    final Errors error;

    Invalid(Errors error, String message) {
      super(message);
      this.error = error;
    }
  }

  static List<Batch> decode(MemoryRecords records, StreamConfig stream) throws Invalid {
    return decode(records, stream, false);
  }

  /**
   * The batches of a produce; {@code transactional}: the produce of a transaction, whose batches
   * are all transactional (a plain produce's are all not).
   */
  static List<Batch> decode(MemoryRecords records, StreamConfig stream, boolean transactional)
      throws Invalid {
    if (records == null || records.sizeInBytes() == 0) {
      throw new Invalid(Errors.INVALID_RECORD, "a produce for a partition without records");
    }
    String defaultSubject = subjectOf(stream);
    List<Batch> out = new ArrayList<>();
    int read = 0;
    for (MutableRecordBatch b : records.batches()) {
      read += b.sizeInBytes();
      if (b.magic() < RecordBatch.MAGIC_VALUE_V2) {
        throw new Invalid(
            Errors.UNSUPPORTED_FOR_MESSAGE_FORMAT,
            "record batch format v" + b.magic() + ": only v2 (Kafka 0.11 and later)");
      }
      try {
        b.ensureValid();
      } catch (CorruptRecordException e) {
        throw new Invalid(Errors.CORRUPT_MESSAGE, e.getMessage());
      }
      if (b.isControlBatch()) {
        throw new Invalid(Errors.INVALID_RECORD, "a control batch: only the server writes them");
      }
      if (b.isTransactional() != transactional) {
        throw new Invalid(
            Errors.INVALID_RECORD,
            transactional
                ? "a produce with a transactional id carries transactional batches only"
                : "a transactional batch in a produce without a transactional id");
      }
      List<Message> messages = new ArrayList<>();
      long inflated = 0;
      long now = System.currentTimeMillis();
      try (CloseableIterator<Record> it = b.streamingIterator(BufferSupplier.NO_CACHING)) {
        while (it.hasNext()) {
          Record r = it.next();
          byte[] key = r.hasKey() ? bytes(r.key()) : null;
          byte[] value = r.hasValue() ? bytes(r.value()) : new byte[0];
          inflated += (key == null ? 0 : key.length) + value.length;
          String subject = defaultSubject;
          List<Header> headers = new ArrayList<>();
          for (org.apache.kafka.common.header.Header h : r.headers()) {
            if (SUBJECT_HEADER.equals(h.key()) && h.value() != null) {
              subject = new String(h.value(), StandardCharsets.UTF_8);
            } else {
              headers.add(new Header(h.key(), h.value()));
              inflated += h.key().length() + (h.value() == null ? 0 : h.value().length);
            }
          }
          if (inflated > MAX_INFLATED_BYTES) {
            throw new Invalid(
                Errors.RECORD_LIST_TOO_LARGE,
                "a batch inflates past " + MAX_INFLATED_BYTES + " bytes");
          }
          long ts = b.timestampType() == TimestampType.LOG_APPEND_TIME ? now : r.timestamp();
          messages.add(new Message(subject, key, headers, value, ts, null));
        }
      } catch (CorruptRecordException | IllegalStateException e) {
        throw new Invalid(Errors.CORRUPT_MESSAGE, String.valueOf(e.getMessage()));
      } catch (org.apache.kafka.common.KafkaException e) {
        throw new Invalid(Errors.CORRUPT_MESSAGE, "the batch does not decode: " + e.getMessage());
      }
      if (messages.isEmpty()) {
        throw new Invalid(Errors.INVALID_RECORD, "a record batch without records");
      }
      if (messages.size() > Broker.MAX_BATCH_MESSAGES) {
        throw new Invalid(
            Errors.RECORD_LIST_TOO_LARGE,
            messages.size() + " records in one batch; at most " + Broker.MAX_BATCH_MESSAGES);
      }
      out.add(
          new Batch(
              messages,
              b.producerId() < 0 ? Broker.NO_PRODUCER : b.producerId(),
              b.producerEpoch() < 0 ? 0 : b.producerEpoch(),
              b.producerId() < 0 ? 0 : b.baseSequence()));
    }
    if (read != records.sizeInBytes()) {
      throw new Invalid(
          Errors.CORRUPT_MESSAGE,
          "records end in a partial batch (" + (records.sizeInBytes() - read) + " bytes)");
    }
    return out;
  }

  /**
   * The subject a record without an {@code sb-subject} header is published on: the stream's first
   * literal subject, or else its first pattern with each wildcard ({@code *}, {@code >}) made the
   * token {@code kafka} — {@code events.>} gives {@code events.kafka}.
   */
  static String subjectOf(StreamConfig stream) {
    for (String s : stream.subjects()) {
      if (!s.contains("*") && !s.contains(">")) {
        return s;
      }
    }
    String[] tokens = stream.subjects().get(0).split("\\.", -1);
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i].equals("*") || tokens[i].equals(">")) {
        tokens[i] = "kafka";
      }
    }
    return String.join(".", tokens);
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
