package io.switchboard.broker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatchBuilder;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionReaderTest {
  @TempDir Path dir;

  final ManualClock clock = new ManualClock();
  final List<Long> failedAt = new ArrayList<>();
  PartitionLog log;

  PartitionLog log() {
    log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, clock, true));
    return log;
  }

  @AfterEach
  void close() {
    if (log != null) {
      log.close();
    }
  }

  /** Appends one batch of {@code n} records with values "i" from {@code first} on. */
  void batch(int first, int n) {
    RecordBatchBuilder b = new RecordBatchBuilder(Compression.NONE);
    for (int i = first; i < first + n; i++) {
      b.append(
          0,
          null,
          ByteBuffer.wrap(Integer.toString(i).getBytes(StandardCharsets.UTF_8)),
          List.of());
    }
    log.append(b.build()).join();
  }

  static String value(Record r) {
    return StandardCharsets.UTF_8.decode(r.value().duplicate()).toString();
  }

  PartitionReader reader(int readBytes) {
    return new PartitionReader(log, readBytes, (offset, e) -> failedAt.add(offset));
  }

  @Test
  void handsOutEveryRecordOnceInOrderAcrossBatchesAndReads() {
    log();
    batch(0, 10);
    batch(10, 5);
    batch(15, 20);
    PartitionReader reader = reader(64); // small reads: several reads, at least a batch each
    List<String> got = new ArrayList<>();
    long next = 0;
    for (Record r; (r = reader.next(next, log.logEndOffset())) != null; ) {
      assertThat(r.offset()).isEqualTo(next);
      got.add(value(r));
      next = r.offset() + 1;
    }
    assertThat(got).hasSize(35);
    assertThat(got.getFirst()).isEqualTo("0");
    assertThat(got.getLast()).isEqualTo("34");
    assertThat(reader.position(next)).isEqualTo(35);
  }

  @Test
  void aRecordPastTheReadableEndWaitsUntilTheEndPassesIt() {
    log();
    batch(0, 4);
    PartitionReader reader = reader(1 << 16);
    assertThat(reader.next(0, 2).offset()).isZero();
    assertThat(reader.next(1, 2).offset()).isEqualTo(1);
    assertThat(reader.next(2, 2)).isNull();
    assertThat(reader.next(2, 4).offset()).isEqualTo(2);
    assertThat(reader.next(3, 4).offset()).isEqualTo(3);
    assertThat(reader.next(4, 4)).isNull();
    batch(4, 2); // appended later: read on the next look
    assertThat(reader.next(4, log.logEndOffset()).offset()).isEqualTo(4);
  }

  @Test
  void startsMidBatchSkipsAheadAndStartsAfreshWhenAskedFromBehind() {
    log();
    batch(0, 10);
    PartitionReader reader = reader(1 << 16);
    assertThat(reader.next(3, 10).offset()).isEqualTo(3);
    assertThat(reader.next(7, 10).offset()).isEqualTo(7); // moved on: 4..6 passed
    assertThat(reader.next(2, 10).offset()).isEqualTo(2); // behind what was passed: reads again
    assertThat(reader.next(3, 10).offset()).isEqualTo(3);
  }

  @Test
  void readAtTakesOneRecordWithoutMovingTheReader() {
    log();
    batch(0, 10);
    PartitionReader reader = reader(1 << 16);
    assertThat(reader.next(0, 10).offset()).isZero();
    assertThat(value(reader.readAt(8))).isEqualTo("8");
    assertThat(reader.readAt(10)).isNull();
    assertThat(reader.readAt(-1)).isNull();
    assertThat(reader.next(1, 10).offset()).isEqualTo(1);
  }

  @Test
  void aFailedReadIsReportedAndReturnsNothing() {
    log();
    batch(0, 3);
    PartitionReader reader = reader(1 << 16);
    log.close();
    assertThat(reader.next(0, 3)).isNull();
    assertThat(failedAt).containsExactly(0L);
    PartitionReader strict = new PartitionReader(log, 1 << 16, PartitionReader.RETHROW);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> strict.next(0, 3))
        .isInstanceOf(io.switchboard.core.SwitchboardException.class);
    log = null;
  }
}
