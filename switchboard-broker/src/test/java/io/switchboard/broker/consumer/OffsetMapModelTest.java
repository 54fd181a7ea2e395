package io.switchboard.broker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * {@link OffsetMap} against the structure it replaced in {@link AckTracker}, a {@link TreeMap}:
 * random operations, mostly in the tracker's pattern (keys growing, removals near the front) with
 * arbitrary ones mixed in, every answer and the whole content compared after each step.
 */
class OffsetMapModelTest {

  enum Kind {
    PUT_NEXT,
    PUT_ANY,
    REMOVE_FIRST,
    REMOVE_ANY,
    GET,
    HIGHER,
    REMOVE_UP_TO
  }

  record Op(Kind kind, int arg) {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Kind> kinds =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(30, Arbitraries.just(Kind.PUT_NEXT)),
            net.jqwik.api.Tuple.of(5, Arbitraries.just(Kind.PUT_ANY)),
            net.jqwik.api.Tuple.of(20, Arbitraries.just(Kind.REMOVE_FIRST)),
            net.jqwik.api.Tuple.of(15, Arbitraries.just(Kind.REMOVE_ANY)),
            net.jqwik.api.Tuple.of(10, Arbitraries.just(Kind.GET)),
            net.jqwik.api.Tuple.of(10, Arbitraries.just(Kind.HIGHER)),
            net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.REMOVE_UP_TO)));
    return Combinators.combine(kinds, Arbitraries.integers().between(0, 400))
        .as(Op::new)
        .list()
        .ofMaxSize(1_000);
  }

  @Property(tries = 200)
  void behavesLikeATreeMap(@ForAll("ops") @Size(max = 1_000) List<Op> ops) {
    OffsetMap<Integer> map = new OffsetMap<>();
    TreeMap<Long, Integer> model = new TreeMap<>();
    long next = 0;
    int stamp = 0;
    for (Op op : ops) {
      long key = op.arg();
      switch (op.kind()) {
        case PUT_NEXT -> {
          next += 1 + op.arg() % 3; // gaps, as filtered or acknowledged offsets leave
          assertThat(map.put(next, stamp)).isEqualTo(model.put(next, stamp));
        }
        case PUT_ANY -> assertThat(map.put(key, stamp)).isEqualTo(model.put(key, stamp));
        case REMOVE_FIRST -> {
          if (!model.isEmpty()) {
            long first = model.firstKey();
            assertThat(map.remove(first)).isEqualTo(model.remove(first));
          }
        }
        case REMOVE_ANY -> {
          long k = model.isEmpty() ? key : pick(model, op.arg());
          assertThat(map.remove(k)).isEqualTo(model.remove(k));
        }
        case GET -> {
          assertThat(map.get(key)).isEqualTo(model.get(key));
          assertThat(map.containsKey(key)).isEqualTo(model.containsKey(key));
        }
        case HIGHER -> {
          Long h = model.higherKey(key);
          assertThat(map.higherKey(key)).isEqualTo(h == null ? OffsetMap.NONE : h);
        }
        case REMOVE_UP_TO -> {
          // Removes the odd values up to the key, like a cumulative ack of in-flight entries.
          int expected = 0;
          for (Iterator<Integer> it = model.headMap(key, true).values().iterator();
              it.hasNext(); ) {
            if (it.next() % 2 == 1) {
              it.remove();
              expected++;
            }
          }
          assertThat(map.removeUpTo(key, v -> v % 2 == 1)).isEqualTo(expected);
        }
      }
      stamp++;
      assertSame(map, model);
    }
  }

  private static long pick(TreeMap<Long, Integer> model, int arg) {
    int index = arg % model.size();
    Iterator<Long> it = model.keySet().iterator();
    for (int i = 0; i < index; i++) {
      it.next();
    }
    return it.next();
  }

  private static void assertSame(OffsetMap<Integer> map, TreeMap<Long, Integer> model) {
    assertThat(map.size()).isEqualTo(model.size());
    assertThat(map.isEmpty()).isEqualTo(model.isEmpty());
    assertThat(map.firstKey()).isEqualTo(model.isEmpty() ? OffsetMap.NONE : model.firstKey());
    List<Map.Entry<Long, Integer>> entries = new ArrayList<>();
    map.forEach((k, v) -> entries.add(Map.entry(k, v)));
    assertThat(entries).containsExactlyElementsOf(model.entrySet());
    // The walk the consumer uses for redelivery: first, then higher, visits every key in order.
    List<Long> walked = new ArrayList<>();
    for (long k = map.firstKey(); k != OffsetMap.NONE; k = map.higherKey(k)) {
      walked.add(k);
    }
    assertThat(walked).containsExactlyElementsOf(model.keySet());
  }
}
