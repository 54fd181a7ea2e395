package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code switchboard bench} in every mode against a real server in process, on a random port. The
 * runs are small: they check that every message is accounted for and that the report is well
 * formed, never how fast anything went (figures belong in docs/benchmarks.md). Tests run one after
 * another, so each may create the {@code bench.>} stream in turn.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BenchCommandTest {
  private static final long DEADLINE_SECONDS = 120;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int COUNT = 2_000;

  SwitchboardServer server;
  ExecutorService background;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), NativeKeys.PORT.name(), "0"));
    background = Executors.newCachedThreadPool();
  }

  @AfterAll
  void stop() throws InterruptedException {
    background.shutdownNow();
    assertThat(background.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    if (server != null) {
      server.close();
    }
  }

  record Result(int code, String out, String err) {
    JsonNode json() throws Exception {
      assertThat(out.lines()).as("one JSON object, stderr: %s", err).hasSize(1);
      return JSON.readTree(out);
    }
  }

  Result run(String... args) throws Exception {
    return runAgainst("127.0.0.1:" + server.addresses().get("native").getPort(), args);
  }

  Result runAgainst(String address, String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli =
        new CommandLine(
            new SwitchboardCli(
                Map.of(ClientCommand.SERVER_ENV, address), InputStream.nullInputStream()));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code =
        CompletableFuture.supplyAsync(() -> cli.execute(args), background)
            .get(DEADLINE_SECONDS, TimeUnit.SECONDS);
    return new Result(code, out.toString(), err.toString());
  }

  static void assertOrdered(JsonNode latency, long count) {
    assertThat(latency.path("count").asLong()).isEqualTo(count);
    double p50 = latency.path("p50Us").asDouble();
    double p99 = latency.path("p99Us").asDouble();
    double p999 = latency.path("p999Us").asDouble();
    double max = latency.path("maxUs").asDouble();
    assertThat(p50).isPositive();
    assertThat(p50).isLessThanOrEqualTo(p99);
    assertThat(p99).isLessThanOrEqualTo(p999);
    assertThat(p999).isLessThanOrEqualTo(max);
  }

  @Test
  void shouldPublishLiveAndTimeEveryAcknowledgement() throws Exception {
    Result r = run("bench", "--count", Integer.toString(COUNT), "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode report = r.json();
    assertThat(report.path("mode").asText()).isEqualTo("pub");
    assertThat(report.path("stream").isNull()).isTrue();
    assertThat(report.path("published").asLong()).isEqualTo(COUNT);
    assertThat(report.path("acked").asLong()).isEqualTo(COUNT);
    assertThat(report.path("publishFailed").asLong()).isZero();
    assertThat(report.path("msgPerSec").asDouble()).isPositive();
    assertThat(report.path("latency").path("kind").asText()).isEqualTo("publish-ack");
    assertOrdered(report.path("latency"), COUNT);
  }

  @Test
  void shouldPersistToAPartitionedStreamAndDeleteItAfterwards() throws Exception {
    Result r =
        run(
            "bench",
            "--stream",
            "PERSIST",
            "--fsync",
            "always",
            "--partitions",
            "3",
            "--publishers",
            "2",
            "--count",
            Integer.toString(COUNT),
            "--size",
            "1024",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode report = r.json();
    assertThat(report.path("stream").asText()).isEqualTo("PERSIST");
    assertThat(report.path("fsync").asText()).isEqualTo("always");
    assertThat(report.path("acked").asLong()).isEqualTo(COUNT);
    assertOrdered(report.path("latency"), COUNT);
    assertThat(report.path("mbPerSec").asDouble()).isPositive();
    assertThat(run("stream", "info", "PERSIST").code()).isEqualTo(ExitCodes.REFUSED);
  }

  @Test
  void shouldKeepTheStreamWhenAskedWithEveryMessageStored() throws Exception {
    Result r =
        run("bench", "--stream", "KEPT", "--partitions", "2", "--count", "500", "--keep", "--json");
    assertThat(r.code()).as(r.err()).isZero();
    Result info = run("stream", "info", "KEPT", "--json");
    assertThat(info.code()).isZero();
    assertThat(JSON.readTree(info.out()).path("messages").asLong()).isEqualTo(500);

    // Every partition got some: subjects are spread over them by hash.
    assertThat(JSON.readTree(info.out()).path("partitions"))
        .allSatisfy(p -> assertThat(p.path("nextOffset").asLong()).isPositive());
    assertThat(run("stream", "rm", "KEPT").code()).isZero();
  }

  @Test
  void shouldAccountForEveryPacedMessageAtEverySubscriber() throws Exception {
    Result r =
        run(
            "bench",
            "--mode",
            "pubsub",
            "--subscribers",
            "2",
            "--rate",
            "5000",
            "--max-in-flight",
            "64",
            "--count",
            Integer.toString(COUNT),
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode report = r.json();
    assertThat(report.path("published").asLong()).isEqualTo(COUNT);
    assertThat(report.path("acked").asLong()).isEqualTo(COUNT);
    assertThat(report.path("expected").asLong()).isEqualTo(2L * COUNT);
    // Live delivery is at-most-once: a subscriber that falls more than its buffer behind has
    // messages dropped, and the server says how many. So every message is either received or
    // reported dropped, exactly; how many were dropped depends on speed, which a test cannot own.
    long received = report.path("received").asLong();
    long dropped = report.path("dropped").asLong();
    assertThat(received + dropped).as(r.out()).isEqualTo(2L * COUNT);
    assertThat(received).isPositive();
    assertThat(report.path("missing").asLong()).isZero();
    assertThat(report.path("latency").path("kind").asText()).isEqualTo("end-to-end");
    assertOrdered(report.path("latency"), received);
    assertOrdered(report.path("publishLatency"), COUNT);
  }

  @Test
  void shouldAccountForEveryMessagePublishedWithoutAcks() throws Exception {
    Result r =
        run(
            "bench",
            "--mode",
            "pubsub",
            "--no-ack",
            "--rate",
            "5000",
            "--max-in-flight",
            "64",
            "--count",
            Integer.toString(COUNT),
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode report = r.json();
    assertThat(report.path("noAck").asBoolean()).isTrue();
    // Each publish completes once written; none fails; every one is received or reported dropped.
    assertThat(report.path("published").asLong()).isEqualTo(COUNT);
    assertThat(report.path("acked").asLong()).isEqualTo(COUNT);
    assertThat(report.path("publishFailed").asLong()).isZero();
    long received = report.path("received").asLong();
    assertThat(received + report.path("dropped").asLong()).as(r.out()).isEqualTo(COUNT);
    assertThat(received).isPositive();
    assertThat(report.path("missing").asLong()).isZero();
    Result text = run("bench", "--mode", "pubsub", "--no-ack", "--count", "200");
    assertThat(text.code()).as(text.err()).isZero();
    assertThat(text.out()).contains("no publish acks").contains("200 written (--no-ack)");
  }

  @Test
  void shouldWorkAQueueWithEveryMessageReceivedAndAcknowledgedOnce() throws Exception {
    Result r =
        run(
            "bench",
            "--mode",
            "queue",
            "--publishers",
            "2",
            "--consumers",
            "2",
            "--size",
            "1024",
            "--count",
            Integer.toString(COUNT),
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode report = r.json();
    assertThat(report.path("stream").asText()).isEqualTo(BenchCommand.DEFAULT_STREAM);
    assertThat(report.path("ack").asText()).isEqualTo("each");
    assertThat(report.path("acked").asLong()).isEqualTo(COUNT);
    assertThat(report.path("received").asLong()).isEqualTo(COUNT);
    assertThat(report.path("consumerAcked").asLong()).isEqualTo(COUNT);
    assertThat(report.path("redelivered").asLong()).isZero();
    assertThat(report.path("missing").asLong()).isZero();
    assertOrdered(report.path("latency"), COUNT);
    assertThat(run("stream", "info", BenchCommand.DEFAULT_STREAM).code())
        .isEqualTo(ExitCodes.REFUSED);
  }

  @Test
  void shouldReturnCreditsToAQueueConsumerThatDoesNotAcknowledge() throws Exception {
    // More messages than one window of credits, so the run finishes only if credits come back.
    int count = 3 * BenchCommand.CONSUMER_CREDITS;
    Result r =
        run(
            "bench",
            "--mode",
            "queue",
            "--ack",
            "none",
            "--count",
            Integer.toString(count),
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode report = r.json();
    assertThat(report.path("ack").asText()).isEqualTo("none");
    assertThat(report.path("received").asLong()).isEqualTo(count);
    assertThat(report.path("consumerAcked").asLong()).isZero();
    assertOrdered(report.path("latency"), count);
  }

  @Test
  void shouldLeaveTheWarmUpOutOfTheReportAndPrintItForHumans() throws Exception {
    Result r = run("bench", "--warmup", "300ms", "--count", "500", "--rate", "5000");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out().lines())
        .first()
        .asString()
        .startsWith("bench pub: 1 publisher, 100 B, 5,000 msg/s")
        .endsWith("live (no stream)");
    assertThat(r.out()).contains("published 500 in ").contains("; 500 acknowledged");
    assertThat(r.out()).containsPattern("publish-ack latency +p50 .* \\(500 samples\\)");
  }

  @Test
  void shouldRefuseBadArgumentsAsUsageErrors() throws Exception {
    assertThat(run("bench", "--count", "1", "--duration", "1s").code()).isEqualTo(2);
    assertThat(run("bench", "--size", "8").code()).isEqualTo(2);
    assertThat(run("bench", "--mode", "fanout").code()).isEqualTo(2);
    assertThat(run("bench", "--subscribers", "2").code()).isEqualTo(2);
    assertThat(run("bench", "--mode", "pubsub", "--consumers", "2").code()).isEqualTo(2);
    assertThat(run("bench", "--ack", "none").code()).isEqualTo(2);
    assertThat(run("bench", "--no-ack").code()).isEqualTo(2); // pub measures acknowledged publishes
    assertThat(run("bench", "--keep").code()).isEqualTo(2);
    Result r = run("bench", "--max-in-flight", "0");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--max-in-flight");
  }

  @Test
  void shouldSayTheServerRefusedWhenTheStreamOverlapsAnother() throws Exception {
    assertThat(run("stream", "add", "OTHER", "--subjects", "bench.x").code()).isZero();
    try {
      Result r = run("bench", "--stream", "MINE", "--count", "10");
      assertThat(r.code()).isEqualTo(ExitCodes.REFUSED);
      assertThat(r.err()).contains("STREAM_SUBJECTS_OVERLAP");
    } finally {
      assertThat(run("stream", "rm", "OTHER").code()).isZero();
    }
  }

  @Test
  void shouldExitThreeWhenNothingListens() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Result r = runAgainst("127.0.0.1:" + port, "bench", "--count", "10");
    assertThat(r.code()).isEqualTo(ExitCodes.CANNOT_CONNECT);
  }
}
