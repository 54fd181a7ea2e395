package io.switchboard.log;

import io.switchboard.core.Header;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatch;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Deterministic batches for tests: the content of record {@code n} is a function of n alone. */
final class TestBatches {
  private TestBatches() {}

  static byte[] valueOf(long n, int size) {
    byte[] v = new byte[size];
    Random r = new Random(n * 31 + size);
    r.nextBytes(v);
    byte[] tag = ("#" + n + "#").getBytes(StandardCharsets.UTF_8);
    System.arraycopy(tag, 0, v, 0, Math.min(tag.length, size));
    return v;
  }

  /** A batch of records {@code first .. first+count-1}, each with key "k<n % keys>". */
  static ByteBuffer batch(long first, int count, int valueSize, long timestamp) {
    return batch(first, count, valueSize, timestamp, Integer.MAX_VALUE, Compression.NONE);
  }

  static ByteBuffer batch(
      long first, int count, int valueSize, long timestamp, int keys, Compression c) {
    RecordBatchBuilder b = new RecordBatchBuilder(c);
    for (int i = 0; i < count; i++) {
      long n = first + i;
      b.appendBytes(
          timestamp + i,
          ("k" + (n % keys)).getBytes(StandardCharsets.UTF_8),
          valueOf(n, valueSize),
          List.of(
              new Header(
                  RecordBatchDescriptor.SUBJECT_HEADER,
                  ("test." + n).getBytes(StandardCharsets.UTF_8))));
    }
    return b.build();
  }

  /** Every record of the log from its start, in order. */
  static List<Record> readAll(PartitionLog log) {
    List<Record> out = new ArrayList<>();
    long offset = log.logStartOffset();
    while (offset < log.logEndOffset()) {
      List<RecordBatch> batches = log.read(offset, 64 * 1024).batches();
      if (batches.isEmpty()) {
        break;
      }
      for (RecordBatch b : batches) {
        for (Record r : b.records(log.config().maxBatchBytes())) {
          if (r.offset() >= offset) {
            out.add(r);
          }
        }
        offset = Math.max(offset, b.nextOffset());
      }
    }
    return out;
  }

  static boolean sameValue(Record r, byte[] expected) {
    return Arrays.equals(r.valueBytes(), expected);
  }
}
