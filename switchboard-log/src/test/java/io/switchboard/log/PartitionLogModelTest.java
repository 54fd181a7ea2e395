package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.format.Compression;
import io.switchboard.log.format.Record;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ManualClock;
import io.switchboard.testkit.TempTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Random sequences of append / read / roll / truncate / reopen / compact / delete-before, checked
 * after every step against a plain in-memory model of what the log must hold. jqwik prints the seed
 * and the shrunk sequence of any failure.
 */
class PartitionLogModelTest {

  enum Kind {
    APPEND,
    READ,
    ROLL,
    TRUNCATE,
    REOPEN_CLEAN,
    REOPEN_UNCLEAN,
    COMPACT,
    DELETE_BEFORE
  }

  /** One step; {@code a} and {@code b} are raw numbers each kind interprets. */
  record Op(Kind kind, int a, int b) {}

  @Provide
  Arbitrary<Op> op() {
    Arbitrary<Kind> kinds =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(10, Arbitraries.just(Kind.APPEND)),
            net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.READ)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.ROLL)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.TRUNCATE)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.REOPEN_CLEAN)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.REOPEN_UNCLEAN)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.COMPACT)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.DELETE_BEFORE)));
    return Combinators.combine(
            kinds, Arbitraries.integers().between(0, 1000), Arbitraries.integers().between(0, 1000))
        .as(Op::new);
  }

  static final LogConfig CONFIG =
      LogConfig.defaults(FsyncPolicy.NEVER)
          .withSegmentBytes(2048)
          .withIndexIntervalBytes(200)
          .withCompaction(Long.MAX_VALUE / 4, 10_000);

  static final int KEYS = 6;

  /** What the log must hold: offset to value, and the base offsets of surviving batches. */
  static final class Model {
    final TreeMap<Long, byte[]> records = new TreeMap<>();
    final TreeSet<Long> batchBases = new TreeSet<>();
    long start;
    long end;
  }

  @Property(tries = 100)
  void logMatchesTheModel(@ForAll @Size(max = 80) List<@net.jqwik.api.From("op") Op> ops)
      throws IOException {
    Path dir = TempTrees.create("model");
    Files.createDirectories(dir);
    Model model = new Model();
    PartitionLog log = open(dir);
    try {
      long n = 0;
      for (Op op : ops) {
        switch (op.kind()) {
          case APPEND -> {
            int count = 1 + op.a() % 5;
            int size = op.b() % 300;
            Compression c = Compression.values()[op.a() % Compression.values().length];
            long base = log.logEndOffset();
            AppendResult r =
                log.append(TestBatches.batch(base, count, size, 1000 + base, KEYS, c)).join();
            assertThat(r.baseOffset()).isEqualTo(model.end);
            for (int i = 0; i < count; i++) {
              model.records.put(base + i, TestBatches.valueOf(base + i, size));
            }
            model.batchBases.add(base);
            model.end += count;
            n += count;
          }
          case READ -> {
            if (model.end > model.start) {
              long from = model.start + op.a() % (model.end - model.start);
              List<Record> got = readFrom(log, from);
              List<Long> expected = new ArrayList<>(model.records.tailMap(from, true).keySet());
              assertThat(got).extracting(Record::offset).containsExactlyElementsOf(expected);
            }
          }
          case ROLL -> log.roll();
          case TRUNCATE -> {
            List<Long> candidates = new ArrayList<>(model.batchBases.tailSet(model.start, true));
            candidates.add(model.end);
            long to = candidates.get(op.a() % candidates.size());
            log.truncateTo(to);
            model.records.tailMap(to, true).clear();
            model.batchBases.tailSet(to, true).clear();
            model.end = Math.min(model.end, to);
          }
          case REOPEN_CLEAN -> {
            log.close();
            log = open(dir);
          }
          case REOPEN_UNCLEAN -> {
            log.close();
            Files.deleteIfExists(dir.resolve(PartitionLog.CLEAN_SHUTDOWN));
            log = open(dir);
          }
          case COMPACT -> {
            log.compact();
            checkCompactedAgainst(model, log);
          }
          case DELETE_BEFORE -> {
            if (model.end > model.start) {
              long to = model.start + op.b() % (model.end - model.start + 1);
              log.deleteRecordsBefore(to);
              model.records.headMap(to, false).clear();
              model.start = Math.max(model.start, to);
            }
          }
        }
        assertThat(log.logEndOffset()).as("end after %s", op).isEqualTo(model.end);
        // The start may move across offsets that hold no record (gaps left by compaction), never
        // past a record the model still has.
        Long firstRecord = model.records.ceilingKey(model.start);
        assertThat(log.logStartOffset())
            .as("start after %s", op)
            .isBetween(model.start, firstRecord == null ? model.end : firstRecord);
        model.start = log.logStartOffset();
        List<Record> all = readFrom(log, model.start);
        assertThat(all)
            .extracting(Record::offset)
            .as("offsets after %s", op)
            .containsExactlyElementsOf(model.records.keySet());
        for (Record r : all) {
          assertThat(r.valueBytes()).isEqualTo(model.records.get(r.offset()));
        }
      }
      assertThat(n).isGreaterThanOrEqualTo(0);
    } finally {
      log.close();
      TempTrees.delete(dir);
    }
  }

  /**
   * Compaction may drop any record that a later record with the same key supersedes, and nothing
   * else; the model then forgets what was dropped.
   */
  private static void checkCompactedAgainst(Model model, PartitionLog log) {
    Map<String, Long> latest = new HashMap<>();
    for (long offset : model.records.keySet()) {
      latest.put(keyOf(offset), offset);
    }
    List<Record> all = readFrom(log, model.start);
    TreeMap<Long, byte[]> kept = new TreeMap<>();
    for (Record r : all) {
      assertThat(model.records).containsKey(r.offset());
      assertThat(r.valueBytes()).isEqualTo(model.records.get(r.offset()));
      assertThat(new String(r.keyBytes(), StandardCharsets.UTF_8)).isEqualTo(keyOf(r.offset()));
      kept.put(r.offset(), model.records.get(r.offset()));
    }
    for (long offset : model.records.keySet()) {
      if (!kept.containsKey(offset)) {
        assertThat(latest.get(keyOf(offset)))
            .as("record %d was dropped, so a later one with its key exists", offset)
            .isGreaterThan(offset);
      }
    }
    model.records.clear();
    model.records.putAll(kept);
    // Batches whose every record went are gone; the others keep their base offsets.
    model.batchBases.removeIf(
        base -> {
          Long next = model.batchBases.higher(base);
          long until = next == null ? model.end : next;
          return model.records.subMap(base, true, until, false).isEmpty()
              && base < model.end
              && !log.segments().stream().anyMatch(s -> s.baseOffset == base);
        });
  }

  private static String keyOf(long offset) {
    return "k" + (offset % KEYS);
  }

  private static List<Record> readFrom(PartitionLog log, long from) {
    List<Record> out = new ArrayList<>();
    long offset = from;
    while (offset < log.logEndOffset()) {
      var batches = log.read(offset, 700).batches();
      if (batches.isEmpty()) {
        break;
      }
      for (var b : batches) {
        for (Record r : b.records(1 << 20)) {
          if (r.offset() >= offset) {
            out.add(r);
          }
        }
        offset = Math.max(offset, b.nextOffset());
      }
    }
    return out;
  }

  private static PartitionLog open(Path dir) {
    return PartitionLog.open(
        dir, CONFIG, new PartitionLog.Options(NioStorageIO.INSTANCE, new ManualClock(), true));
  }
}
