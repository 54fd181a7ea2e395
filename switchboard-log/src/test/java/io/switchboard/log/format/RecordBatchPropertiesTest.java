package io.switchboard.log.format;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Codec round trips, and agreement between the append-time validator and the full parser. */
class RecordBatchPropertiesTest {

  record Input(long timestamp, byte[] key, byte[] value, List<Header> headers) {}

  @Provide
  Arbitrary<Input> input() {
    Arbitrary<byte[]> bytesOrNull =
        Arbitraries.bytes().array(byte[].class).ofMaxSize(300).injectNull(0.2);
    Arbitrary<Header> header =
        Combinators.combine(
                Arbitraries.strings().ofMaxLength(20),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(30).injectNull(0.2))
            .as(Header::new);
    return Combinators.combine(
            Arbitraries.longs().between(0, 1L << 42),
            bytesOrNull,
            bytesOrNull,
            header.list().ofMaxSize(4))
        .as(Input::new);
  }

  private static ByteBuffer build(Compression c, List<Input> inputs) {
    RecordBatchBuilder b = new RecordBatchBuilder(c);
    for (Input in : inputs) {
      b.appendBytes(in.timestamp(), in.key(), in.value(), in.headers());
    }
    return b.build();
  }

  @Property(tries = 300)
  void everyBuiltBatchValidatesAndParsesBackToItsInput(
      @ForAll Compression c, @ForAll @Size(min = 1, max = 20) List<@From("input") Input> inputs) {
    RecordBatch batch = RecordBatch.wrap(build(c, inputs));
    assertThat(batch.validateForAppend(1 << 20)).isEqualTo(inputs.size());
    List<Record> records = batch.records(1 << 20);
    assertThat(records).hasSize(inputs.size());
    for (int i = 0; i < inputs.size(); i++) {
      Input in = inputs.get(i);
      Record r = records.get(i);
      assertThat(r.offset()).isEqualTo(i);
      assertThat(r.timestamp()).isEqualTo(in.timestamp());
      assertThat(r.keyBytes()).isEqualTo(in.key());
      assertThat(r.valueBytes()).isEqualTo(in.value());
      assertThat(r.headers()).isEqualTo(in.headers());
    }
  }

  @Property(tries = 1000)
  void theValidatorAndTheParserAgreeOnEveryMutatedBatch(
      @ForAll @Size(min = 1, max = 8) List<@From("input") Input> inputs,
      @ForAll @IntRange(min = 0, max = 100_000) int where,
      @ForAll byte xor) {
    ByteBuffer bytes = build(Compression.NONE, inputs);
    int at =
        RecordBatchDescriptor.RECORDS_OFFSET
            + where % (bytes.limit() - RecordBatchDescriptor.RECORDS_OFFSET);
    bytes.put(at, (byte) (bytes.get(at) ^ (xor == 0 ? 1 : xor)));
    // Fix the CRC up, so the structure checks are what is tested.
    CRC32C crc = new CRC32C();
    crc.update(
        bytes.slice(
            RecordBatchDescriptor.ATTRIBUTES_OFFSET,
            bytes.limit() - RecordBatchDescriptor.ATTRIBUTES_OFFSET));
    bytes.putInt(RecordBatchDescriptor.CRC_OFFSET, (int) crc.getValue());
    RecordBatch batch = RecordBatch.wrap(bytes);
    ErrorCode validator = codeOf(() -> batch.validateForAppend(1 << 20));
    ErrorCode parser = codeOf(() -> checkParsed(batch));
    assertThat(validator).isIn(null, ErrorCode.LOG_INVALID_BATCH);
    assertThat(parser).isEqualTo(validator);
  }

  /** What validation promises, checked through the full parser. */
  private static void checkParsed(RecordBatch batch) {
    List<Record> records = batch.records(1 << 20);
    List<Long> offsets = new ArrayList<>();
    for (Record r : records) {
      offsets.add(r.offset());
    }
    for (int i = 0; i < offsets.size(); i++) {
      if (offsets.get(i) != i) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "offset " + i);
      }
    }
    if (records.isEmpty() || batch.lastOffsetDelta() != records.size() - 1) {
      throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "count");
    }
  }

  private static ErrorCode codeOf(Runnable r) {
    try {
      r.run();
      return null;
    } catch (SwitchboardException e) {
      return e.code();
    }
  }
}
