package io.switchboard.bench;

import io.switchboard.core.Header;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.format.RecordBatchDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/** Shared set-up for the log benchmarks. Stateless. */
final class BenchLogs {
  private BenchLogs() {}

  /** Where benchmark logs live: {@code -Dbench.dir}, else the system temp directory. */
  static Path newDir(String prefix) {
    try {
      Path base = Path.of(System.getProperty("bench.dir", System.getProperty("java.io.tmpdir")));
      Files.createDirectories(base);
      return Files.createTempDirectory(base, prefix);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void delete(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A batch of {@code records} records with {@code valueBytes} random bytes each and a subject. */
  static ByteBuffer batch(int records, int valueBytes, long seed) {
    Random random = new Random(seed);
    RecordBatchBuilder b = new RecordBatchBuilder(Compression.NONE);
    List<Header> headers =
        List.of(
            new Header(
                RecordBatchDescriptor.SUBJECT_HEADER,
                "bench.subject".getBytes(StandardCharsets.UTF_8)));
    for (int i = 0; i < records; i++) {
      byte[] value = new byte[valueBytes];
      random.nextBytes(value);
      b.appendBytes(System.currentTimeMillis(), null, value, headers);
    }
    return b.build();
  }
}
