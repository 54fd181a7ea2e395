package io.switchboard.log.format;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RecordBatchTest {

  private static ErrorCode codeOf(Runnable r) {
    try {
      r.run();
    } catch (SwitchboardException e) {
      return e.code();
    }
    throw new AssertionError("no error raised");
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void shouldRoundTripEveryFieldThroughBuilderAndParser(Compression compression) {
    RecordBatchBuilder b = new RecordBatchBuilder(compression).producer(9, (short) 2, 5);
    b.appendBytes(1000, "k".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}, List.of());
    b.appendBytes(900, null, null, List.of(new Header("a", new byte[] {7}), new Header("b", null)));
    b.appendBytes(2000, new byte[0], new byte[300], List.of());
    ByteBuffer bytes = b.build();
    RecordBatch.setBaseOffset(bytes, 1234);
    RecordBatch batch = RecordBatch.wrap(bytes);

    assertThat(batch.isValid()).isTrue();
    assertThat(batch.validateForAppend(1 << 20)).isEqualTo(3);
    assertThat(batch.baseOffset()).isEqualTo(1234);
    assertThat(batch.lastOffset()).isEqualTo(1236);
    assertThat(batch.baseTimestamp()).isEqualTo(1000);
    assertThat(batch.maxTimestamp()).isEqualTo(2000);
    assertThat(batch.producerId()).isEqualTo(9);
    assertThat(batch.producerEpoch()).isEqualTo((short) 2);
    assertThat(batch.baseSequence()).isEqualTo(5);
    assertThat(batch.compression()).isEqualTo(compression);
    List<Record> records = batch.records(1 << 20);
    assertThat(records).hasSize(3);
    assertThat(records.get(0).offset()).isEqualTo(1234);
    assertThat(records.get(0).keyBytes()).isEqualTo("k".getBytes(StandardCharsets.UTF_8));
    assertThat(records.get(0).valueBytes()).containsExactly(1, 2, 3);
    assertThat(records.get(1).timestamp()).isEqualTo(900);
    assertThat(records.get(1).key()).isNull();
    assertThat(records.get(1).value()).isNull();
    assertThat(records.get(1).headers())
        .containsExactly(new Header("a", new byte[] {7}), new Header("b", null));
    assertThat(records.get(2).keyBytes()).isEmpty();
    assertThat(records.get(2).valueBytes()).hasSize(300);
  }

  @Test
  void aResetBuilderBuildsExactlyWhatAFreshOneBuilds() {
    RecordBatchBuilder reused = new RecordBatchBuilder(Compression.NONE);
    reused.producer(7, (short) 1, 40).transactional(true);
    for (int i = 0; i < 2_000; i++) { // grows the buffer well past its first size
      reused.appendBytes(1_000 + i, null, new byte[100], List.of());
    }
    reused.build();
    reused.reset();
    RecordBatchBuilder fresh = new RecordBatchBuilder(Compression.NONE);
    for (RecordBatchBuilder b : List.of(reused, fresh)) {
      b.appendBytes(
          5_000,
          "k".getBytes(StandardCharsets.UTF_8),
          "v1".getBytes(StandardCharsets.UTF_8),
          List.of(new Header("h", new byte[] {1})));
      b.appendBytes(5_003, null, "v2".getBytes(StandardCharsets.UTF_8), List.of());
    }
    assertThat(reused.estimatedSizeInBytes()).isEqualTo(fresh.estimatedSizeInBytes());
    assertThat(reused.build()).isEqualTo(fresh.build());
  }

  @Test
  void varintsRoundTripAtTheirEdges() {
    int[] ints = {0, 1, -1, 63, -64, 64, Integer.MAX_VALUE, Integer.MIN_VALUE};
    long[] longs = {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40};
    ByteBuffer buf = ByteBuffer.allocate(256);
    for (int v : ints) {
      Varint.writeVarint(v, buf);
    }
    for (long v : longs) {
      Varint.writeVarlong(v, buf);
    }
    buf.flip();
    for (int v : ints) {
      int before = buf.position();
      assertThat(Varint.readVarint(buf)).isEqualTo(v);
      assertThat(buf.position() - before).isEqualTo(Varint.sizeOfVarint(v));
    }
    for (long v : longs) {
      int before = buf.position();
      assertThat(Varint.readVarlong(buf)).isEqualTo(v);
      assertThat(buf.position() - before).isEqualTo(Varint.sizeOfVarlong(v));
    }
    ByteBuffer overlong = ByteBuffer.wrap(new byte[] {-1, -1, -1, -1, -1, 1});
    assertThat(codeOf(() -> Varint.readVarint(overlong))).isEqualTo(ErrorCode.LOG_INVALID_BATCH);
  }

  private static ByteBuffer oneRecordBatch(Compression c, int valueBytes) {
    return new RecordBatchBuilder(c).appendBytes(1, null, new byte[valueBytes], List.of()).build();
  }

  @Test
  void shouldRejectAFlippedBitWithAnInvalidBatchError() {
    ByteBuffer bytes = oneRecordBatch(Compression.NONE, 50);
    bytes.put(70, (byte) (bytes.get(70) ^ 0x10));
    assertThat(codeOf(() -> RecordBatch.wrap(bytes).validateForAppend(1 << 20)))
        .isEqualTo(ErrorCode.LOG_INVALID_BATCH);
  }

  @Test
  void shouldRejectWrongMagicOversizeAndUnknownCodec() {
    ByteBuffer wrongMagic = oneRecordBatch(Compression.NONE, 10);
    wrongMagic.put(RecordBatchDescriptor.MAGIC_OFFSET, (byte) 1);
    assertThat(codeOf(() -> RecordBatch.wrap(wrongMagic).validateForAppend(1 << 20)))
        .isEqualTo(ErrorCode.LOG_INVALID_BATCH);

    ByteBuffer big = oneRecordBatch(Compression.NONE, 5000);
    assertThat(codeOf(() -> RecordBatch.wrap(big).validateForAppend(1000)))
        .isEqualTo(ErrorCode.LOG_BATCH_TOO_LARGE);

    assertThat(codeOf(() -> Compression.fromId(6)))
        .isEqualTo(ErrorCode.LOG_UNSUPPORTED_COMPRESSION);

    ByteBuffer lyingLength = oneRecordBatch(Compression.NONE, 10);
    lyingLength.putInt(RecordBatchDescriptor.LENGTH_OFFSET, 1 << 30);
    assertThat(codeOf(() -> RecordBatch.wrap(lyingLength))).isEqualTo(ErrorCode.LOG_INVALID_BATCH);
  }

  @ParameterizedTest
  @EnumSource(
      value = Compression.class,
      names = {"NONE"},
      mode = EnumSource.Mode.EXCLUDE)
  void shouldRefuseToInflateACompressionBombBeyondTheLimit(Compression c) {
    // 8 MiB of zeros compresses to well under 1 MiB with every codec; a limit just above the
    // compressed size admits the batch's bytes but must refuse to inflate them.
    ByteBuffer bomb = oneRecordBatch(c, 8 << 20);
    assertThat(bomb.remaining()).isLessThan(1 << 20);
    int limit = bomb.remaining() + 1024;
    RecordBatch batch = RecordBatch.wrap(bomb);
    assertThat(codeOf(() -> batch.validateForAppend(limit)))
        .isEqualTo(ErrorCode.LOG_DECOMPRESSION_LIMIT);
    assertThat(batch.records(16 << 20)).hasSize(1);
  }

  @Test
  void garbageInsideACompressedBatchIsAnInvalidBatchNotACrash() {
    Random random = new Random(42);
    for (Compression c : Compression.values()) {
      if (c == Compression.NONE) {
        continue;
      }
      ByteBuffer bytes = oneRecordBatch(c, 2000);
      for (int i = RecordBatchDescriptor.RECORDS_OFFSET; i < bytes.limit(); i++) {
        bytes.put(i, (byte) random.nextInt());
      }
      RecordBatch batch = RecordBatch.wrap(bytes);
      assertThat(codeOf(() -> batch.records(1 << 20)))
          .as("%s", c)
          .isIn(ErrorCode.LOG_INVALID_BATCH, ErrorCode.LOG_DECOMPRESSION_LIMIT);
    }
  }

  @Test
  void readAllLeavesOutAPartialTrailingBatch() {
    ByteBuffer a = oneRecordBatch(Compression.NONE, 10);
    ByteBuffer b = oneRecordBatch(Compression.NONE, 20);
    ByteBuffer both = ByteBuffer.allocate(a.remaining() + b.remaining() - 5);
    both.put(a).put(b.limit(b.limit() - 5)).flip();
    assertThat(RecordBatch.readAll(both)).hasSize(1);
  }
}
