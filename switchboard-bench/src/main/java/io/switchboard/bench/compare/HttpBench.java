package io.switchboard.bench.compare;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The HTTP front end's benchmarks (docs/benchmarks.md, issue #5), run by {@code bench/http.sh}:
 *
 * <ol>
 *   <li>publish throughput over keep-alive HTTP/1.1, driven by {@code wrk} (Debian) with {@code
 *       bench/http/publish.lua}: 100 B bodies to a subject no stream captures (live only) and to
 *       one a stream captures (stored, acknowledged after the write);
 *   <li>SSE fan-out: {@code clients} event streams on one pattern, a native-client publisher at a
 *       fixed rate; every event's delivery latency from its intended send time (carried in the
 *       payload, {@code System.nanoTime} of this process — no coordinated omission), with the
 *       server's CPU.
 * </ol>
 *
 * Prints a Markdown section for docs/benchmarks.md on stdout.
 */
public final class HttpBench {
  private HttpBench() {}

  record Options(
      Path root,
      Path work,
      String wrk,
      int seconds,
      int size,
      int wrkConnections,
      int warmupSeconds,
      String command) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    Options o =
        new Options(
            Path.of(a.getOrDefault("root", ".")),
            Path.of(a.getOrDefault("work", Files.createTempDirectory("sb-http-bench").toString())),
            a.getOrDefault("wrk", "wrk"),
            Integer.parseInt(a.getOrDefault("seconds", "20")),
            Integer.parseInt(a.getOrDefault("size", "100")),
            Integer.parseInt(a.getOrDefault("wrk-connections", "32")),
            Integer.parseInt(a.getOrDefault("warmup", "10")),
            a.getOrDefault("command", "bench/http.sh"));
    List<String> sse = List.of(a.getOrDefault("sse", "1000x1000").split(","));
    List<String> parts = List.of(a.getOrDefault("parts", "publish,sse").split(","));
    StringBuilder out = new StringBuilder();
    out.append("### HTTP front end — ")
        .append(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).withNano(0))
        .append("\n\n")
        .append("Command: `")
        .append(o.command)
        .append("`. Machine: ")
        .append(Runtime.getRuntime().availableProcessors())
        .append(" cores, ")
        .append(System.getProperty("os.name"))
        .append(' ')
        .append(System.getProperty("os.version"))
        .append(", JDK ")
        .append(Runtime.version())
        .append(" (bench); server started with `./switchboard server` (defaults), data in a fresh")
        .append(" directory. wrk: ")
        .append(Procs.firstLine(o.wrk, "-v"))
        .append(".\n\n");
    SwitchboardPeer peer = new SwitchboardPeer(o.root);
    Path dir = o.work.resolve("switchboard-http");
    Files.createDirectories(dir);
    try (Running r = peer.start(dir, Durability.DEFAULT)) {
      int httpPort = r.port("http");
      createStream(httpPort);
      if (parts.contains("publish")) {
        publish(o, r, httpPort, out);
      }
      if (parts.contains("sse")) {
        sse(o, r, httpPort, sse, out);
      }
    }
    System.out.print(out);
  }

  private static void publish(Options o, Running r, int httpPort, StringBuilder out)
      throws Exception {
    out.append(
            "**Publish over keep-alive HTTP** (`wrk -t2 -c"
                + o.wrkConnections
                + " -d"
                + o.seconds
                + "s --latency -s bench/http/publish.lua`, "
                + o.size
                + " B `application/octet-stream` bodies, `POST /v1/subjects/{subject}`, each"
                + " answered `200` with its acknowledgement; after a discarded 10 s run):\n\n")
        .append(
            "| subject | requests/s | p50 | p99 | non-2xx | server CPU |\n"
                + "| --- | --- | --- | --- | --- | --- |\n");
    // A first, discarded run: the server's JIT warms up on the same requests.
    wrk(o, httpPort, "bench.warmup", 10);
    for (String subject : List.of("bench.live", "bench.stored.x")) {
      long cpu0 = Cpu.ticks(r.main().toHandle());
      WrkResult w = wrk(o, httpPort, subject, o.seconds);
      double cores = Cpu.cores(r.main().toHandle(), cpu0, o.seconds);
      out.append(
          String.format(
              Locale.ROOT,
              "| `%s` (%s) | %,.0f | %s | %s | %d | %.2f cores |%n",
              subject,
              subject.startsWith("bench.stored") ? "stored in a stream" : "live only",
              w.requestsPerSec,
              w.p50,
              w.p99,
              w.non2xx,
              cores));
      System.err.printf("http-bench: wrk %s: %s (server %.2f cores)%n", subject, w, cores);
    }
    out.append('\n');
  }

  private static void sse(Options o, Running r, int httpPort, List<String> sse, StringBuilder out)
      throws Exception {
    out.append('\n')
        .append("**SSE fan-out** (live subscription `GET /v1/subjects/bench.sse/events`, ")
        .append(o.size)
        .append(" B text payloads published by the native client at a fixed rate; latency from")
        .append(" each message's intended send time to its event parsed by the client, ")
        .append(o.seconds)
        .append(" s measured after ")
        .append(o.warmupSeconds)
        .append(" s of warm-up at the same rate; the SSE clients are Netty connections in one")
        .append(" JVM on the same machine):\n\n")
        .append(
            "| SSE clients | msg/s published | events/s delivered | p50 | p99 | p99.9 | max |"
                + " lost | server CPU |\n")
        .append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (String shape : sse) {
      String[] cr = shape.split("x");
      int clients = Integer.parseInt(cr[0]);
      int rate = Integer.parseInt(cr[1]);
      SseResult s = sseFanOut(r, httpPort, clients, rate, o);
      out.append(
          String.format(
              Locale.ROOT,
              "| %,d | %,d | %,.0f | %s | %s | %s | %s | %,d | %.2f cores |%n",
              clients,
              rate,
              s.deliveredPerSec,
              ms(s.histogram.getValueAtPercentile(50)),
              ms(s.histogram.getValueAtPercentile(99)),
              ms(s.histogram.getValueAtPercentile(99.9)),
              ms(s.histogram.getMaxValue()),
              s.lost,
              s.serverCores));
    }
    out.append('\n');
  }

  static String ms(long nanos) {
    return nanos >= 10_000_000
        ? String.format(Locale.ROOT, "%.0f ms", nanos / 1e6)
        : String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
  }

  private static void createStream(int port) throws Exception {
    try (HttpClient c = HttpClient.newHttpClient()) {
      var resp =
          c.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/streams"))
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"name\":\"BENCH\",\"subjects\":[\"bench.stored.>\"]}"))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      if (resp.statusCode() / 100 != 2) {
        throw new IllegalStateException("creating the stream: " + resp.body());
      }
    }
  }

  // ------------------------------------------------------------------ wrk

  record WrkResult(double requestsPerSec, String p50, String p99, long non2xx) {}

  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern P50 = Pattern.compile("\\n\\s+50%\\s+(\\S+)");
  private static final Pattern P99 = Pattern.compile("\\n\\s+99%\\s+(\\S+)");
  private static final Pattern NON2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+(\\d+)");

  static WrkResult wrk(Options o, int port, String subject, int seconds) throws Exception {
    Path log = o.work.resolve("wrk-" + subject + ".log");
    String text =
        Procs.run(
            List.of(
                o.wrk,
                "-t2",
                "-c" + o.wrkConnections,
                "-d" + seconds + "s",
                "--latency",
                "-s",
                o.root.resolve("bench/http/publish.lua").toString(),
                "http://127.0.0.1:" + port + "/v1/subjects/" + subject),
            Map.of("BODY_BYTES", Integer.toString(o.size)),
            log,
            Duration.ofSeconds(seconds + 60L));
    return parseWrk(text);
  }

  static WrkResult parseWrk(String text) {
    Matcher rps = RPS.matcher(text);
    Matcher p50 = P50.matcher(text);
    Matcher p99 = P99.matcher(text);
    if (!rps.find() || !p50.find() || !p99.find()) {
      throw new IllegalStateException("wrk output not understood:\n" + text);
    }
    Matcher non = NON2XX.matcher(text);
    return new WrkResult(
        Double.parseDouble(rps.group(1)),
        p50.group(1),
        p99.group(1),
        non.find() ? Long.parseLong(non.group(1)) : 0);
  }

  // ------------------------------------------------------------------ SSE fan-out

  record SseResult(double deliveredPerSec, Histogram histogram, long lost, double serverCores) {}

  /** The stamp a payload carries: the intended send time, as decimal digits, then padding. */
  static byte[] payload(long intendedNs, int size) {
    byte[] digits = Long.toString(intendedNs).getBytes(StandardCharsets.US_ASCII);
    byte[] b = new byte[Math.max(size, digits.length + 1)];
    java.util.Arrays.fill(b, (byte) 'x');
    System.arraycopy(digits, 0, b, 0, digits.length);
    b[digits.length] = ' ';
    return b;
  }

  private static final byte[] TEXT_FIELD = "\"text\":\"".getBytes(StandardCharsets.US_ASCII);

  /**
   * The stamp inside one SSE {@code data:} line of a message event ({@code b[from, to)}), or -1
   * when the line carries none ({@code "text":"<digits> x…"}).
   */
  static long stampOf(byte[] b, int from, int to) {
    int at = indexOf(b, from, to, TEXT_FIELD);
    if (at < 0) {
      return -1;
    }
    long v = 0;
    int digits = 0;
    for (int i = at + TEXT_FIELD.length; i < to; i++) {
      byte c = b[i];
      if (c < '0' || c > '9') {
        break;
      }
      v = v * 10 + (c - '0');
      digits++;
    }
    return digits == 0 ? -1 : v;
  }

  private static int indexOf(byte[] b, int from, int to, byte[] needle) {
    outer:
    for (int i = from; i <= to - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (b[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static final byte[] SUBSCRIBED = ": subscribed".getBytes(StandardCharsets.US_ASCII);

  /** Message events parsed by every client of the run, in the window or not. */
  static final AtomicLong ALL_EVENTS = new AtomicLong();

  /** Counts one client's events and records their latency; lines split across chunks are kept. */
  static final class SseReader extends SimpleChannelInboundHandler<HttpObject> {
    private final Recorder latency;
    private final Recorder perSecond;
    private final AtomicLong counted;
    private final CountDownLatch subscribed;
    private final long[] window; // [start, end) of intended send times measured

    /**
     * Bytes received and not yet parsed (a line split across chunks): a plain array, scanned
     * without the per-byte checks of a ByteBuf.
     */
    private byte[] pending = new byte[8192];

    private int pendingLength;
    private boolean seenSubscribed;

    SseReader(Recorder latency, AtomicLong counted, CountDownLatch subscribed, long[] window) {
      this(latency, new Recorder(2), counted, subscribed, window);
    }

    SseReader(
        Recorder latency,
        Recorder perSecond,
        AtomicLong counted,
        CountDownLatch subscribed,
        long[] window) {
      this.latency = latency;
      this.perSecond = perSecond;
      this.counted = counted;
      this.subscribed = subscribed;
      this.window = window;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (msg instanceof HttpResponse r && r.status().code() != 200) {
        throw new IllegalStateException("SSE answered " + r.status());
      }
      if (!(msg instanceof HttpContent c)) {
        return;
      }
      ByteBuf in = c.content();
      int n = in.readableBytes();
      if (pendingLength + n > pending.length) {
        pending = java.util.Arrays.copyOf(pending, Math.max(2 * pending.length, pendingLength + n));
      }
      in.getBytes(in.readerIndex(), pending, pendingLength, n);
      int end = pendingLength + n;
      long now = System.nanoTime();
      int lineStart = 0;
      for (int i = pendingLength; i < end; i++) {
        if (pending[i] != '\n') {
          continue;
        }
        if (!seenSubscribed
            && java.util.Arrays.equals(pending, lineStart, i, SUBSCRIBED, 0, SUBSCRIBED.length)) {
          seenSubscribed = true;
          subscribed.countDown();
        } else if (i - lineStart > 5 && pending[lineStart] == 'd') {
          long sent = stampOf(pending, lineStart, i);
          if (sent > 0) {
            ALL_EVENTS.incrementAndGet();
          }
          if (sent >= window[0] && sent < window[1]) {
            long age = Math.max(0, now - sent);
            latency.recordValue(age);
            perSecond.recordValue(age);
            counted.incrementAndGet();
          }
        }
        lineStart = i + 1;
      }
      pendingLength = end - lineStart;
      System.arraycopy(pending, lineStart, pending, 0, pendingLength);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      System.err.println("http-bench: SSE client failed: " + cause);
      ctx.close();
    }
  }

  static SseResult sseFanOut(Running r, int httpPort, int clients, int rate, Options o)
      throws Exception {
    Recorder latency = new Recorder(3);
    Recorder perSecond = new Recorder(2);
    AtomicLong counted = new AtomicLong();
    CountDownLatch subscribed = new CountDownLatch(clients);
    ALL_EVENTS.set(0);
    java.util.concurrent.atomic.AtomicInteger closed =
        new java.util.concurrent.atomic.AtomicInteger();
    long[] window = {Long.MAX_VALUE, Long.MAX_VALUE};
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    List<Channel> channels = new ArrayList<>();
    try {
      Bootstrap b =
          LoopbackClients.bootstrap(
              group,
              ch -> {
                ch.pipeline()
                    .addLast(new HttpClientCodec())
                    .addLast(new SseReader(latency, perSecond, counted, subscribed, window));
                ch.closeFuture().addListener(f -> closed.incrementAndGet());
              });
      for (int i = 0; i < clients; i++) {
        Channel ch = b.connect("127.0.0.1", httpPort).sync().channel();
        DefaultFullHttpRequest req =
            new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1, HttpMethod.GET, "/v1/subjects/bench.sse/events");
        req.headers()
            .set(HttpHeaderNames.HOST, "127.0.0.1:" + httpPort)
            .set(HttpHeaderNames.ACCEPT, "text/event-stream");
        ch.writeAndFlush(req);
        channels.add(ch);
      }
      if (!subscribed.await(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException(
            subscribed.getCount() + " of " + clients + " SSE clients never subscribed");
      }
      try (SwitchboardClient pub = SwitchboardClient.connect("127.0.0.1:" + r.port("native"))) {
        long period = 1_000_000_000L / rate;
        long start = System.nanoTime() + 100_000_000L;
        long warm = start + o.warmupSeconds * 1_000_000_000L;
        long end = warm + o.seconds * 1_000_000_000L;
        window[0] = warm;
        window[1] = end;
        long sent = 0;
        long measured = 0;
        long cpu0 = 0;
        boolean cpuStarted = false;
        long nextTrace = start + 1_000_000_000L;
        for (long i = 0; ; i++) {
          long intended = start + i * period;
          if (intended >= nextTrace) {
            nextTrace += 1_000_000_000L;
            Histogram s = perSecond.getIntervalHistogram();
            System.err.printf(
                "http-bench:   %d events, p50 %s, max %s, %d clients closed%n",
                s.getTotalCount(),
                ms(s.getValueAtPercentile(50)),
                ms(s.getMaxValue()),
                closed.get());
          }
          if (intended >= end) {
            break;
          }
          long wait;
          while ((wait = intended - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
          }
          if (!cpuStarted && intended >= warm) {
            cpuStarted = true;
            cpu0 = Cpu.ticks(r.main().toHandle());
          }
          pub.publishAsync(PublishBuilder.to("bench.sse", payload(intended, o.size)).noAck());
          sent++;
          if (intended >= warm) {
            measured++;
          }
        }
        double cores = Cpu.cores(r.main().toHandle(), cpu0, o.seconds);
        long allAtEnd = ALL_EVENTS.get();
        long publishNs = System.nanoTime() - start;
        long expected = measured * clients;
        // Wait until delivery stops growing (every event in, or the rest lost).
        long last = -1;
        long stableSince = System.nanoTime();
        while (System.nanoTime() - stableSince < 3_000_000_000L) {
          long now = counted.get();
          if (now == expected) {
            break;
          }
          if (now != last) {
            last = now;
            stableSince = System.nanoTime();
          }
          LockSupport.parkNanos(100_000_000L);
        }
        Histogram h = latency.getIntervalHistogram();
        long got = counted.get();
        System.err.printf(
            "http-bench:   events of any age parsed while publishing: %,.0f/s%n",
            allAtEnd * 1e9 / publishNs);
        System.err.printf(
            "http-bench: SSE %d clients x %d msg/s: %d published (%d measured), %d of %d events,"
                + " p50 %s p99 %s max %s, server %.2f cores%n",
            clients,
            rate,
            sent,
            measured,
            got,
            expected,
            ms(h.getValueAtPercentile(50)),
            ms(h.getValueAtPercentile(99)),
            ms(h.getMaxValue()),
            cores);
        return new SseResult((double) got / o.seconds, h, expected - got, cores);
      }
    } finally {
      for (Channel ch : channels) {
        ch.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** A process's CPU time from /proc (user + system, children included), in clock ticks. */
  static final class Cpu {
    private Cpu() {}

    static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

    static long ticks(ProcessHandle p) {
      long total = 0;
      List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
      all.add(p);
      for (ProcessHandle h : all) {
        try {
          String stat = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          total += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
        } catch (java.io.IOException | RuntimeException e) {
          // gone, or not Linux: counted as nothing
        }
      }
      return total;
    }

    /** Cores used on average since {@code ticks0}, over {@code seconds}. */
    static double cores(ProcessHandle p, long ticks0, int seconds) {
      return (ticks(p) - ticks0) / TICKS_PER_SECOND / seconds;
    }
  }
}
