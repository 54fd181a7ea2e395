package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;
import org.junit.jupiter.api.Test;

/** The HTTP bench's parsing: wrk's report, the stamp in SSE events, events split across chunks. */
class HttpBenchTest {
  static final String WRK =
      """
      Running 10s test @ http://127.0.0.1:7480/v1/subjects/bench.live
        2 threads and 32 connections
        Thread Stats   Avg      Stdev     Max   +/- Stdev
          Latency     1.23ms  456.00us  20.00ms   90.00%
          Req/Sec    12.34k     1.00k   15.00k    70.00%
        Latency Distribution
           50%    1.10ms
           75%    1.40ms
           90%    1.90ms
           99%    3.50ms
        245678 requests in 10.00s, 40.00MB read
        Non-2xx or 3xx responses: 7
      Requests/sec:  24567.80
      Transfer/sec:      4.00MB
      """;

  @Test
  void readsThroughputPercentilesAndErrorsFromWrk() {
    HttpBench.WrkResult r = HttpBench.parseWrk(WRK);
    assertThat(r.requestsPerSec()).isEqualTo(24567.80);
    assertThat(r.p50()).isEqualTo("1.10ms");
    assertThat(r.p99()).isEqualTo("3.50ms");
    assertThat(r.non2xx()).isEqualTo(7);
    assertThat(HttpBench.parseWrk(WRK.replace("  Non-2xx or 3xx responses: 7\n", "")).non2xx())
        .isZero();
    assertThatThrownBy(() -> HttpBench.parseWrk("unable to connect"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not understood");
  }

  @Test
  void aPayloadCarriesItsStampAndTheEventLineGivesItBack() {
    byte[] p = HttpBench.payload(123456789012L, 100);
    assertThat(p).hasSize(100);
    byte[] line =
        ("xx data: {\"subject\":\"bench.sse\",\"text\":\"" + new String(p) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(HttpBench.stampOf(line, 3, line.length)).isEqualTo(123456789012L);
    // Only within the bounds given: the stamp lies outside this range.
    assertThat(HttpBench.stampOf(line, 3, 30)).isEqualTo(-1);
    byte[] empty = "data: {}".getBytes(StandardCharsets.UTF_8);
    assertThat(HttpBench.stampOf(empty, 0, empty.length)).isEqualTo(-1);
  }

  @Test
  void eventsSplitAcrossChunksAreCountedOnceInsideTheWindowOnly() {
    Recorder latency = new Recorder(3);
    AtomicLong counted = new AtomicLong();
    CountDownLatch subscribed = new CountDownLatch(1);
    long now = System.nanoTime();
    long[] window = {now - 1_000_000_000L, now + 1_000_000_000L};
    EmbeddedChannel ch =
        new EmbeddedChannel(new HttpBench.SseReader(latency, counted, subscribed, window));
    ch.writeInbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    String in = event(now - 1000) + event(now - 2000);
    String before = event(window[0] - 5); // sent before the window: not counted
    String all = "retry: 1000\n: subscribed\n\n" + in + before;
    int cut = all.length() / 2 + 3; // mid-line
    ch.writeInbound(new DefaultHttpContent(buf(all.substring(0, cut))));
    ch.writeInbound(new DefaultHttpContent(buf(all.substring(cut))));
    assertThat(subscribed.getCount()).isZero();
    assertThat(counted.get()).isEqualTo(2);
    assertThat(latency.getIntervalHistogram().getTotalCount()).isEqualTo(2);
    ch.finishAndReleaseAll();
  }

  static String event(long stamp) {
    return "id: 1\nevent: message\ndata: {\"text\":\""
        + new String(HttpBench.payload(stamp, 40), StandardCharsets.US_ASCII)
        + "\"}\n\n";
  }

  static ByteBuf buf(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }
}
