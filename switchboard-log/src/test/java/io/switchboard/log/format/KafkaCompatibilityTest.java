package io.switchboard.log.format;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.Header;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The batch format is Kafka's RecordBatch v2: proven against kafka-clients' own classes. */
class KafkaCompatibilityTest {

  @TempDir Path dir;

  private static org.apache.kafka.common.compress.Compression kafkaCodec(Compression c) {
    return switch (c) {
      case NONE -> org.apache.kafka.common.compress.Compression.NONE;
      case GZIP -> org.apache.kafka.common.compress.Compression.gzip().build();
      case SNAPPY -> org.apache.kafka.common.compress.Compression.snappy().build();
      case LZ4 -> org.apache.kafka.common.compress.Compression.lz4().build();
      case ZSTD -> org.apache.kafka.common.compress.Compression.zstd().build();
    };
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void batchesWrittenByTheLogAreReadByKafkaClients(Compression compression) {
    try (PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(FsyncPolicy.NEVER))) {
      for (int b = 0; b < 3; b++) {
        RecordBatchBuilder builder =
            new RecordBatchBuilder(compression).producer(77L, (short) 3, b * 10);
        for (int i = 0; i < 10; i++) {
          int n = b * 10 + i;
          builder.appendBytes(
              1_700_000_000_000L + n,
              i % 3 == 0 ? null : bytes("key-" + n),
              i % 5 == 4 ? null : bytes("value-" + n + "-".repeat(n)),
              List.of(
                  new Header(RecordBatchDescriptor.SUBJECT_HEADER, bytes("orders.eu." + n)),
                  new Header("empty", null)));
        }
        log.append(builder.build()).join();
      }
      ByteBuffer fetched = ByteBuffer.allocate(1 << 20);
      var result = log.read(0, 1 << 20);
      for (RecordBatch b : result.batches()) {
        fetched.put(b.buffer());
      }
      fetched.flip();

      MemoryRecords kafka = MemoryRecords.readableRecords(fetched);
      int n = 0;
      int batchIndex = 0;
      for (MutableRecordBatch batch : kafka.batches()) {
        batch.ensureValid();
        assertThat(batch.magic()).isEqualTo((byte) 2);
        assertThat(batch.baseOffset()).isEqualTo(batchIndex * 10L);
        assertThat(batch.lastOffset()).isEqualTo(batchIndex * 10L + 9);
        assertThat(batch.producerId()).isEqualTo(77L);
        assertThat(batch.producerEpoch()).isEqualTo((short) 3);
        assertThat(batch.baseSequence()).isEqualTo(batchIndex * 10);
        assertThat((int) batch.compressionType().id).isEqualTo(compression.id());
        for (org.apache.kafka.common.record.internal.Record r : batch) {
          assertThat(r.offset()).isEqualTo(n);
          assertThat(r.timestamp()).isEqualTo(1_700_000_000_000L + n);
          int i = n % 10;
          assertThat(r.hasKey()).isEqualTo(i % 3 != 0);
          if (r.hasKey()) {
            assertThat(StandardCharsets.UTF_8.decode(r.key()).toString()).isEqualTo("key-" + n);
          }
          assertThat(r.hasValue()).isEqualTo(i % 5 != 4);
          if (r.hasValue()) {
            assertThat(StandardCharsets.UTF_8.decode(r.value()).toString())
                .isEqualTo("value-" + n + "-".repeat(n));
          }
          assertThat(r.headers()).hasSize(2);
          assertThat(r.headers()[0].key()).isEqualTo(RecordBatchDescriptor.SUBJECT_HEADER);
          assertThat(new String(r.headers()[0].value(), StandardCharsets.UTF_8))
              .isEqualTo("orders.eu." + n);
          assertThat(r.headers()[1].value()).isNull();
          n++;
        }
        batchIndex++;
      }
      assertThat(n).isEqualTo(30);
    }
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void batchesBuiltByKafkaClientsAreAcceptedAndReadBack(Compression compression) {
    List<SimpleRecord> sent = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      sent.add(
          new SimpleRecord(
              1_600_000_000_000L + i * 7,
              i % 4 == 0 ? null : bytes("k" + i),
              bytes("payload-" + i + "x".repeat(i * 3)),
              new org.apache.kafka.common.header.Header[] {new RecordHeader("h", bytes("v" + i))}));
    }
    MemoryRecords idempotent =
        MemoryRecords.withIdempotentRecords(
            kafkaCodec(compression), 4242L, (short) 1, 100, sent.toArray(new SimpleRecord[0]));
    try (PartitionLog log =
        PartitionLog.open(dir.resolve("p"), LogConfig.defaults(FsyncPolicy.NEVER))) {
      // Something already in the log, so Kafka's batch gets a non-zero base offset assigned.
      log.append(
              new RecordBatchBuilder(Compression.NONE)
                  .appendBytes(1L, null, bytes("first"), List.of())
                  .build())
          .join();
      ByteBuffer kafkaBytes = idempotent.buffer().duplicate();
      var appended = log.append(kafkaBytes).join();
      assertThat(appended.baseOffset()).isEqualTo(1);
      assertThat(appended.lastOffset()).isEqualTo(25);

      List<RecordBatch> batches = log.read(1, 1 << 20).batches();
      assertThat(batches).hasSize(1);
      RecordBatch ours = batches.getFirst();
      assertThat(ours.isValid()).isTrue();
      assertThat(ours.producerId()).isEqualTo(4242L);
      assertThat(ours.producerEpoch()).isEqualTo((short) 1);
      assertThat(ours.baseSequence()).isEqualTo(100);
      assertThat(ours.compression()).isEqualTo(compression);
      List<Record> records = ours.records(1 << 20);
      assertThat(records).hasSize(25);
      for (int i = 0; i < 25; i++) {
        Record r = records.get(i);
        assertThat(r.offset()).isEqualTo(1 + i);
        assertThat(r.timestamp()).isEqualTo(1_600_000_000_000L + i * 7);
        assertThat(r.keyBytes()).isEqualTo(i % 4 == 0 ? null : bytes("k" + i));
        assertThat(r.valueBytes()).isEqualTo(bytes("payload-" + i + "x".repeat(i * 3)));
        assertThat(r.headers()).containsExactly(new Header("h", bytes("v" + i)));
      }

      // And Kafka reads our stored copy (with the offsets we assigned) back again.
      Iterator<MutableRecordBatch> it =
          MemoryRecords.readableRecords(ours.buffer()).batches().iterator();
      MutableRecordBatch back = it.next();
      back.ensureValid();
      assertThat(back.baseOffset()).isEqualTo(1);
      assertThat(it.hasNext()).isFalse();
    }
  }
}
