package io.switchboard.kafka;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The Kafka front end's transaction log (docs/kafka.md, "Transactions"): one append-only file,
 * {@code <dataDir>/kafka-transactions/txn.log}, every record forced to disk before {@link #append}
 * returns. Three kinds of record: a transactional id's producer id, epoch and timeout ({@link
 * Producer}); a commit decision holding the transaction's records and offsets ({@link Commit}); and
 * "commit n is applied" (a commit's number). A commit whose records and offsets are all in their
 * partitions and groups is marked applied; one that is not is applied again when the log opens.
 *
 * <p>Framing: {@code length (4) | crc32c (4) | body}; a torn or damaged tail (a crash mid-write) is
 * cut off when the log opens. The log keeps the live state in memory — the last producer record of
 * each transactional id and the commits not yet applied — and rewrites the file from it (a new
 * file, forced, then renamed over the old one) once it is {@link #COMPACT_BYTES} larger than that
 * state, so it does not grow without bound.
 *
 * <p>Thread safety: every method is synchronized; {@link #append} and {@link #open} block on the
 * disk, so callers on an event loop reach them through {@code Broker.offload}.
 */
final class KafkaTxnLog implements AutoCloseable {
  static final String DIR = "kafka-transactions";
  static final String FILE = "txn.log";

  /** The file is rewritten once it exceeds its live state by this much. */
  static final long COMPACT_BYTES = 64L << 20;

  /** The largest record read back (a commit of at most {@code kafka.transaction-max-bytes}). */
  static final int MAX_RECORD_BYTES = Integer.MAX_VALUE - 64;

  private static final byte PRODUCER = 'P';
  private static final byte COMMIT = 'C';
  private static final byte APPLIED = 'A';

  /** A transactional id's producer; {@code sequences}: the next sequence per partition. */
  record Producer(
      String transactionalId,
      long producerId,
      short epoch,
      int timeoutMs,
      Map<PartitionKey, Integer> sequences) {}

  /** A stream partition. */
  record PartitionKey(String stream, int partition) {}

  /**
   * One partition's records of a commit: the produced Kafka batches as they came ({@code records}),
   * to be stored from sequence {@code baseSequence} on ({@code count} records).
   */
  record PartitionRecords(
      PartitionKey partition, int baseSequence, int count, List<byte[]> records) {}

  /** One committed offset of a commit. */
  record Offset(String group, PartitionKey partition, long offset, String metadata) {}

  /** A commit decision. */
  record Commit(
      long number,
      String transactionalId,
      long producerId,
      short epoch,
      List<PartitionRecords> partitions,
      List<Offset> offsets) {}

  private final Path file;
  private FileChannel channel;
  private final Map<String, Producer> producers = new LinkedHashMap<>();
  private final Map<Long, Commit> pending = new LinkedHashMap<>();
  private final Map<Long, Integer> pendingBytes = new LinkedHashMap<>();
  private long liveBytes;
  private long nextCommit = 1;

  private KafkaTxnLog(Path file) {
    this.file = file;
  }

  /** Opens (or makes) the log in {@code dataDir}, reading what it holds. Blocks. */
  static KafkaTxnLog open(Path dataDir) {
    Path dir = dataDir.resolve(DIR);
    KafkaTxnLog log = new KafkaTxnLog(dir.resolve(FILE));
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(dir.resolve(FILE + ".tmp"));
      log.channel =
          FileChannel.open(
              log.file,
              StandardOpenOption.CREATE,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
      long good = log.read();
      if (good < log.channel.size()) {
        org.slf4j.LoggerFactory.getLogger(KafkaTxnLog.class)
            .warn(
                "kafka transaction log {}: cutting a torn tail of {} bytes at {}",
                log.file,
                log.channel.size() - good,
                good);
        log.channel.truncate(good);
        log.channel.force(true);
      }
      log.channel.position(good);
      return log;
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, log.file, e.getMessage());
    }
  }

  /** Reads every whole record; returns where the good part of the file ends. */
  private long read() throws IOException {
    long size = channel.size();
    long pos = 0;
    ByteBuffer head = ByteBuffer.allocate(8);
    while (pos + 8 <= size) {
      head.clear();
      channel.read(head, pos);
      head.flip();
      int length = head.getInt();
      int crc = head.getInt();
      if (length <= 0 || length > MAX_RECORD_BYTES || pos + 8 + length > size) {
        break;
      }
      ByteBuffer body = ByteBuffer.allocate(length);
      while (body.hasRemaining()) {
        if (channel.read(body, pos + 8 + body.position()) < 0) {
          throw new EOFException();
        }
      }
      CRC32C c = new CRC32C();
      c.update(body.array());
      if ((int) c.getValue() != crc) {
        break;
      }
      try {
        apply(body.array());
      } catch (IOException | RuntimeException e) {
        throw SwitchboardException.of(ErrorCode.KAFKA_TXN_LOG_CORRUPT, file, pos, e.toString());
      }
      pos += 8 + length;
    }
    return pos;
  }

  /** The last producer record of every transactional id. */
  synchronized Map<String, Producer> producers() {
    return new LinkedHashMap<>(producers);
  }

  /** The commits not yet marked applied, oldest first. */
  synchronized List<Commit> pending() {
    return new ArrayList<>(pending.values());
  }

  /** The number the next commit takes. */
  synchronized long nextCommitNumber() {
    return nextCommit++;
  }

  /** Records a transactional id's producer; forced before it returns. */
  void producer(Producer p) {
    append(encode(p));
  }

  /** Records a commit decision; forced before it returns. */
  void commit(Commit c) {
    append(encode(c));
  }

  /** Marks a commit applied; forced before it returns. */
  void applied(long number) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(APPLIED);
      out.writeLong(number);
      append(bytes.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private synchronized void append(byte[] body) {
    try {
      if (channel == null) {
        throw SwitchboardException.of(ErrorCode.LOG_CLOSED, file);
      }
      write(channel, body);
      channel.force(false);
      apply(body);
      if (channel.size() > liveBytes + COMPACT_BYTES) {
        compact();
      }
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_FSYNC_FAILED, file, e.getMessage());
    }
  }

  private static void write(FileChannel ch, byte[] body) throws IOException {
    CRC32C c = new CRC32C();
    c.update(body);
    ByteBuffer b = ByteBuffer.allocate(8 + body.length);
    b.putInt(body.length).putInt((int) c.getValue()).put(body).flip();
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** Rewrites the file from the live state. */
  private void compact() throws IOException {
    Path tmp = file.resolveSibling(FILE + ".tmp");
    try (FileChannel out =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      for (Producer p : producers.values()) {
        write(out, encode(p));
      }
      for (Commit c : pending.values()) {
        write(out, encode(c));
      }
      out.force(true);
    }
    channel.close();
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // some file systems cannot force a directory
    }
    channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    channel.position(channel.size());
    liveBytes = channel.size();
  }

  /** Applies a record's body to the live state. */
  private void apply(byte[] body) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(body));
    byte type = in.readByte();
    switch (type) {
      case PRODUCER -> {
        Producer p = decodeProducer(in);
        Producer old = producers.put(p.transactionalId(), p);
        liveBytes += body.length + 8 - (old == null ? 0 : encode(old).length + 8);
      }
      case COMMIT -> {
        Commit c = decodeCommit(in);
        pending.put(c.number(), c);
        pendingBytes.put(c.number(), body.length + 8);
        liveBytes += body.length + 8;
        nextCommit = Math.max(nextCommit, c.number() + 1);
        // The sequences the commit takes are the producer's from now on.
        Producer p = producers.get(c.transactionalId());
        if (p != null && p.producerId() == c.producerId() && p.epoch() == c.epoch()) {
          Map<PartitionKey, Integer> seq = new LinkedHashMap<>(p.sequences());
          for (PartitionRecords r : c.partitions()) {
            seq.put(r.partition(), r.baseSequence() + r.count());
          }
          Producer q =
              new Producer(p.transactionalId(), p.producerId(), p.epoch(), p.timeoutMs(), seq);
          producers.put(q.transactionalId(), q);
        }
      }
      case APPLIED -> {
        long n = in.readLong();
        pending.remove(n);
        Integer b = pendingBytes.remove(n);
        if (b != null) {
          liveBytes -= b;
        }
      }
      default -> throw new IOException("unknown record type " + type);
    }
  }

  private static byte[] encode(Producer p) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(PRODUCER);
      out.writeUTF(p.transactionalId());
      out.writeLong(p.producerId());
      out.writeShort(p.epoch());
      out.writeInt(p.timeoutMs());
      out.writeInt(p.sequences().size());
      for (Map.Entry<PartitionKey, Integer> e : p.sequences().entrySet()) {
        out.writeUTF(e.getKey().stream());
        out.writeInt(e.getKey().partition());
        out.writeInt(e.getValue());
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Producer decodeProducer(DataInputStream in) throws IOException {
    String id = in.readUTF();
    long pid = in.readLong();
    short epoch = in.readShort();
    int timeout = in.readInt();
    int n = in.readInt();
    Map<PartitionKey, Integer> seq = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      seq.put(new PartitionKey(in.readUTF(), in.readInt()), in.readInt());
    }
    return new Producer(id, pid, epoch, timeout, seq);
  }

  private static byte[] encode(Commit c) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(COMMIT);
      out.writeLong(c.number());
      out.writeUTF(c.transactionalId());
      out.writeLong(c.producerId());
      out.writeShort(c.epoch());
      out.writeInt(c.partitions().size());
      for (PartitionRecords r : c.partitions()) {
        out.writeUTF(r.partition().stream());
        out.writeInt(r.partition().partition());
        out.writeInt(r.baseSequence());
        out.writeInt(r.count());
        out.writeInt(r.records().size());
        for (byte[] b : r.records()) {
          out.writeInt(b.length);
          out.write(b);
        }
      }
      out.writeInt(c.offsets().size());
      for (Offset o : c.offsets()) {
        out.writeUTF(o.group());
        out.writeUTF(o.partition().stream());
        out.writeInt(o.partition().partition());
        out.writeLong(o.offset());
        out.writeBoolean(o.metadata() != null);
        if (o.metadata() != null) {
          out.writeUTF(o.metadata());
        }
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Commit decodeCommit(DataInputStream in) throws IOException {
    long number = in.readLong();
    String id = in.readUTF();
    long pid = in.readLong();
    short epoch = in.readShort();
    int np = in.readInt();
    List<PartitionRecords> parts = new ArrayList<>();
    for (int i = 0; i < np; i++) {
      PartitionKey k = new PartitionKey(in.readUTF(), in.readInt());
      int base = in.readInt();
      int count = in.readInt();
      int nb = in.readInt();
      List<byte[]> records = new ArrayList<>();
      for (int j = 0; j < nb; j++) {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        records.add(b);
      }
      parts.add(new PartitionRecords(k, base, count, records));
    }
    int no = in.readInt();
    List<Offset> offsets = new ArrayList<>();
    for (int i = 0; i < no; i++) {
      String group = in.readUTF();
      PartitionKey k = new PartitionKey(in.readUTF(), in.readInt());
      long offset = in.readLong();
      String metadata = in.readBoolean() ? in.readUTF() : null;
      offsets.add(new Offset(group, k, offset, metadata));
    }
    return new Commit(number, id, pid, epoch, parts, offsets);
  }

  @Override
  public synchronized void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing was pending: every append forced before it returned
      }
      channel = null;
    }
  }
}
