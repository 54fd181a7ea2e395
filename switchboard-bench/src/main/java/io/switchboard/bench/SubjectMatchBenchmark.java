package io.switchboard.bench;

import io.switchboard.core.subject.SubjectTrie;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Matching one published subject against a trie of {@code subscriptions} patterns, of the shapes
 * real systems use: per-entity subjects ({@code orders.<region>.<id>.created}), per-entity
 * wildcards ({@code orders.<region>.<id>.*}), and ten broad ones (region-wide {@code
 * orders.<region>.>}, fleet-wide {@code *.*.*.created}). Each published subject matches about the
 * same number of values at every size, so the figure to watch is how little it moves from 1k to
 * 100k.
 *
 * <pre>
 * java -jar switchboard-bench/target/switchboard-bench.jar SubjectMatchBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class SubjectMatchBenchmark {
  static final String[] REGIONS = {"eu", "us", "ap", "sa", "af"};

  @Param({"1000", "100000"})
  public int subscriptions;

  SubjectTrie<Integer> trie;
  String[] subjects;
  int next;

  @Setup
  public void build() {
    trie = new SubjectTrie<>();
    Random random = new Random(7);
    int entities = subscriptions / 2;
    for (int i = 0; i < subscriptions; i++) {
      String region = REGIONS[i % REGIONS.length];
      int id = (i / 2) % entities;
      // A fixed handful of broad patterns, so a subject matches about as many values at 1k as at
      // 100k and the figure shows the cost of the trie's size alone.
      String pattern;
      if (i < REGIONS.length) {
        pattern = "orders." + region + ".>";
      } else if (i < 2 * REGIONS.length) {
        pattern = "*.*.*.created";
      } else {
        pattern =
            i % 2 == 0
                ? "orders." + region + "." + id + ".created"
                : "orders." + region + "." + id + ".*";
      }
      trie.add(pattern, i);
    }
    subjects = new String[4096];
    for (int i = 0; i < subjects.length; i++) {
      subjects[i] =
          "orders."
              + REGIONS[random.nextInt(REGIONS.length)]
              + "."
              + random.nextInt(entities)
              + (random.nextBoolean() ? ".created" : ".shipped");
    }
  }

  @Benchmark
  public void match(Blackhole bh) {
    String subject = subjects[next++ & (subjects.length - 1)];
    trie.match(subject, bh::consume);
  }
}
