package io.switchboard.bench.services;

import io.switchboard.services.codec.Codec;
import io.switchboard.services.codec.Codecs;
import java.util.HashMap;
import java.util.Map;
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

/**
 * Encode and decode cost of the same quote in each codec of switchboard-services (through the
 * {@link Codec} interface, as a service call pays it). Sizes: {@code ServiceRoundTrips --sizes}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx512m")
public class CodecBenchmark {
  @Param({"application/json", "application/msgpack", "application/x-protobuf", "application/avro"})
  String contentType;

  /** Venue codes in the quote: 3 is a small RPC payload, 100 a larger one. */
  @Param({"3", "100"})
  int venues;

  Codec codec;
  Object value;
  Class<?> type;
  byte[] encoded;
  Map<String, String> headers;

  @Setup
  public void setUp() throws Exception {
    codec = Codecs.load().get(contentType);
    value = SampleQuotes.quote(contentType, venues);
    type = SampleQuotes.type(contentType);
    headers = new HashMap<>();
    encoded = codec.encode(value, headers);
  }

  @Benchmark
  public byte[] encode() throws Exception {
    return codec.encode(value, new HashMap<>(4));
  }

  @Benchmark
  public Object decode() throws Exception {
    return codec.decode(encoded, type, headers);
  }

  @Benchmark
  public Object encodeDecode() throws Exception {
    Map<String, String> h = new HashMap<>(4);
    return codec.decode(codec.encode(value, h), type, h);
  }
}
