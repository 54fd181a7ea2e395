package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * Every client command of the command line, run in process against a real server on a random port,
 * with its output captured. Each test uses its own subjects and streams, so they share one server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliEndToEndTest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);
  private static final ObjectMapper JSON = new ObjectMapper();

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

  String address() {
    return "127.0.0.1:" + server.addresses().get("native").getPort();
  }

  /** What a finished command printed, and its exit code. */
  record Result(int code, String out, String err) {
    List<JsonNode> jsonLines() throws Exception {
      List<JsonNode> lines = new ArrayList<>();
      for (String line : out.split("\n")) {
        if (!line.isBlank()) {
          lines.add(JSON.readTree(line));
        }
      }
      return lines;
    }
  }

  /** A command running on another thread; its output can be read while it runs. */
  record Running(CompletableFuture<Integer> code, StringWriter out, StringWriter err) {
    Result finish() throws Exception {
      int c = code.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
      return new Result(c, out.toString(), err.toString());
    }
  }

  Running launch(Map<String, String> env, InputStream stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new SwitchboardCli(env, stdin));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return new Running(
        CompletableFuture.supplyAsync(() -> cli.execute(args), background), out, err);
  }

  /** Starts a listening command and returns once it says its subscription is in place. */
  Running listen(String saysWhenReady, String... args) {
    Running r = launch(env(), InputStream.nullInputStream(), args);
    await()
        .atMost(DEADLINE)
        .until(() -> r.err().toString().contains(saysWhenReady) || r.code().isDone());
    assertThat(r.err().toString()).contains(saysWhenReady);
    return r;
  }

  Result run(Map<String, String> env, InputStream stdin, String... args) throws Exception {
    return launch(env, stdin, args).finish();
  }

  Result run(String... args) throws Exception {
    return run(env(), InputStream.nullInputStream(), args);
  }

  Result runWithStdin(String stdin, String... args) throws Exception {
    return run(env(), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), args);
  }

  Map<String, String> env() {
    return Map.of(ClientCommand.SERVER_ENV, address());
  }

  static int deadPort() {
    return io.switchboard.testkit.Ports.free();
  }

  // ------------------------------------------------------------------ pub and sub

  @Test
  void shouldDeliverPublishesToASubscriberAsJsonLines() throws Exception {
    Running sub = listen("listening on greet.>", "sub", "greet.>", "--count", "3", "--json");

    Result one =
        run("pub", "greet.world", "hello", "--header", "lang=en", "--reply-to", "greet.answers");
    assertThat(one.code()).isZero();
    assertThat(one.out()).isEqualTo("not stored: no stream captures it\n");
    Result lines = runWithStdin("line one\nline two\n", "pub", "greet.lines");
    assertThat(lines.code()).isZero();
    assertThat(lines.out().lines()).hasSize(2);

    Result got = sub.finish();
    assertThat(got.code()).isZero();
    List<JsonNode> messages = got.jsonLines();
    assertThat(messages).hasSize(3);
    assertThat(messages.get(0).path("subject").asText()).isEqualTo("greet.world");
    assertThat(messages.get(0).path("payload").asText()).isEqualTo("hello");
    assertThat(messages.get(0).path("replyTo").asText()).isEqualTo("greet.answers");
    assertThat(messages.get(0).path("headers").path("lang").get(0).asText()).isEqualTo("en");
    assertThat(messages.subList(1, 3))
        .extracting(m -> m.path("payload").asText())
        .containsExactly("line one", "line two");
  }

  @Test
  void shouldPrintSubjectHeadersAndPayloadForHumans() throws Exception {
    Running sub = listen("listening on human.*", "sub", "human.*", "--count", "1");
    assertThat(run("pub", "human.x", "hi there", "--header", "k=v").code()).isZero();
    Result got = sub.finish();
    assertThat(got.code()).isZero();
    assertThat(got.out()).isEqualTo("[#1] human.x\n  k: v\nhi there\n");
  }

  @Test
  void shouldShareAQueueGroupBetweenSubscribers() throws Exception {
    Running a = listen("in queue group g", "sub", "work.q", "--queue", "g", "--count", "1");
    Running b = listen("in queue group g", "sub", "work.q", "--queue", "g", "--count", "1");
    // The broker hands a group its messages round-robin, so two publishes reach both members.
    assertThat(run("pub", "work.q", "job", "--count", "2").out().lines())
        .containsExactly("not stored: no stream captures it", "not stored: no stream captures it");
    assertThat(a.finish().out()).contains("job");
    assertThat(b.finish().out()).contains("job");
  }

  @Test
  void shouldPublishWithKeyMessageIdCountExpectationAndDelay() throws Exception {
    assertThat(run("stream", "add", "EVENTS", "--subjects", "ev.>").code()).isZero();

    Result counted = run("pub", "ev.a", "x", "--count", "3", "--key", "k1", "--json");
    assertThat(counted.code()).isZero();
    assertThat(counted.jsonLines())
        .extracting(n -> n.path("offset").asLong())
        .containsExactly(0L, 1L, 2L);
    assertThat(counted.jsonLines().get(0).path("stream").asText()).isEqualTo("EVENTS");
    assertThat(counted.jsonLines().get(0).path("durability").asText()).isEqualTo("written");

    Result first = run("pub", "ev.id", "once", "--message-id", "m-1", "--json");
    Result again = run("pub", "ev.id", "once", "--message-id", "m-1", "--json");
    assertThat(first.jsonLines().get(0).path("duplicate").asBoolean()).isFalse();
    assertThat(again.jsonLines().get(0).path("duplicate").asBoolean()).isTrue();
    assertThat(again.jsonLines().get(0).path("offset").asLong())
        .isEqualTo(first.jsonLines().get(0).path("offset").asLong());
    assertThat(run("pub", "ev.id", "once", "--message-id", "m-1").out())
        .contains("duplicate: not stored again");

    assertThat(run("pub", "ev.order.1", "created", "--expect-last-offset", "-1").code()).isZero();
    Result stale = run("pub", "ev.order.1", "created again", "--expect-last-offset", "-1");
    assertThat(stale.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(stale.err()).startsWith("error 2").contains("PUBLISH_CONFLICT");

    Result delayed = run("pub", "ev.later", "soon", "--delay-ms", "50");
    assertThat(delayed.code()).isZero();
    assertThat(delayed.out()).startsWith("held for delayed delivery in stream EVENTS");

    Result keyed = run("stream", "info", "EVENTS", "--json");
    assertThat(JSON.readTree(keyed.out()).path("messages").asLong()).isGreaterThanOrEqualTo(5);
  }

  // ------------------------------------------------------------------ request/reply

  @Test
  void shouldAnswerRequestsWithTheFixedResponse() throws Exception {
    Running responder =
        listen("answering requests on svc.echo", "reply", "svc.echo", "pong", "--count", "2");

    Result human = run("req", "svc.echo", "ping", "--timeout", "2s");
    assertThat(human.code()).isZero();
    assertThat(human.out()).isEqualTo("pong\n");
    Result json = run("req", "svc.echo", "ping again", "--timeout", "2000", "--json");
    assertThat(json.code()).isZero();
    assertThat(json.jsonLines().get(0).path("payload").asText()).isEqualTo("pong");

    Result served = responder.finish();
    assertThat(served.code()).isZero();
    assertThat(served.out()).contains("ping").contains("ping again");
  }

  @Test
  void shouldExitWithFourWhenNobodyAnswers() throws Exception {
    Result r = run("req", "svc.nobody", "hello?", "--timeout", "500ms");
    assertThat(r.code()).isEqualTo(ExitCodes.TIMEOUT);
    assertThat(r.err()).startsWith("error 2000 NO_RESPONDERS: ");
    assertThat(r.out()).isEmpty();
  }

  // ------------------------------------------------------------------ streams

  @Test
  void shouldCreateListDescribeAndDeleteAStream() throws Exception {
    Result added =
        run(
            "stream",
            "add",
            "ADMIN1",
            "--subjects",
            "adm.a.>,adm.b.*",
            "--partitions",
            "2",
            "--retention",
            "limits",
            "--fsync",
            "always",
            "--max-age",
            "5m",
            "--max-bytes",
            "1000000",
            "--max-messages",
            "100",
            "--max-messages-per-subject",
            "3",
            "--discard",
            "reject-new",
            "--duplicate-window",
            "10s");
    assertThat(added.code()).as(added.err()).isZero();
    assertThat(added.out())
        .startsWith("created stream ADMIN1\n")
        .contains("adm.a.>,adm.b.*")
        .contains("reject-new")
        .contains("5m");

    JsonNode info = JSON.readTree(run("stream", "info", "ADMIN1", "--json").out());
    JsonNode config = info.path("config");
    assertThat(config.path("partitions").asInt()).isEqualTo(2);
    assertThat(config.path("fsync").asText()).isEqualTo("always");
    assertThat(config.path("maxAgeMs").asLong()).isEqualTo(300_000);
    assertThat(config.path("maxBytes").asLong()).isEqualTo(1_000_000);
    assertThat(config.path("maxMessages").asLong()).isEqualTo(100);
    assertThat(config.path("maxMessagesPerSubject").asLong()).isEqualTo(3);
    assertThat(config.path("discard").asText()).isEqualTo("reject_new");
    assertThat(config.path("duplicateWindowMs").asLong()).isEqualTo(10_000);
    assertThat(config.path("subjects"))
        .extracting(JsonNode::asText)
        .containsExactly("adm.a.>", "adm.b.*");

    assertThat(run("pub", "adm.a.1", "x").out()).contains("(fsynced)");
    assertThat(run("stream", "info", "ADMIN1").out())
        .startsWith("stream ADMIN1\n")
        .containsPattern("messages: +1\n");

    Result ls = run("stream", "ls");
    assertThat(ls.out())
        .startsWith("NAME")
        .containsPattern("\nADMIN1 +adm\\.a\\.>,adm\\.b\\.\\* +2 ");
    JsonNode list = JSON.readTree(run("stream", "ls", "--json").out());
    assertThat(list.path("streams").findValuesAsText("name")).contains("ADMIN1");

    Result rm = run("stream", "rm", "ADMIN1");
    assertThat(rm.code()).isZero();
    assertThat(rm.out()).isEqualTo("deleted stream ADMIN1\n");
    Result gone = run("stream", "info", "ADMIN1");
    assertThat(gone.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(gone.err()).isEqualTo("error 2010 STREAM_NOT_FOUND: no stream named \"ADMIN1\"\n");
    assertThat(run("stream", "rm", "ADMIN1", "--json").code()).isEqualTo(ExitCodes.REFUSED);
  }

  @Test
  void shouldCreateAWorkQueueStreamAndDeleteItSilentlyWithJson() throws Exception {
    Result added =
        run(
            "stream",
            "add",
            "ADMIN2",
            "--subjects",
            "adm2.>",
            "--retention",
            "work-queue",
            "--json");
    assertThat(added.code()).isZero();
    assertThat(JSON.readTree(added.out()).path("config").path("retention").asText())
        .isEqualTo("work_queue");
    Result rm = run("stream", "rm", "ADMIN2", "--json");
    assertThat(rm.code()).isZero();
    assertThat(rm.out()).isEmpty();
  }

  @Test
  void shouldPassTheServersConfigRefusalThrough() throws Exception {
    Result bad = run("stream", "add", "BAD1", "--subjects", "bad.>", "--partitions", "0");
    assertThat(bad.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(bad.err()).startsWith("error ").contains("INVALID_CONFIG");
  }

  // ------------------------------------------------------------------ consumers

  @Test
  void shouldWorkAQueueThroughConsumerNextWithAckAndNack() throws Exception {
    assertThat(run("stream", "add", "JOBS", "--subjects", "jobs.>").code()).isZero();
    Result added =
        run(
            "consumer",
            "add",
            "JOBS",
            "workers",
            "--mode",
            "shared",
            "--ack",
            "each",
            "--max-deliver",
            "5",
            "--dead-letter",
            "dlq.jobs",
            "--filter",
            "jobs.>",
            "--start",
            "earliest",
            "--ack-timeout",
            "30s",
            "--backoff",
            "1s,5s");
    assertThat(added.code()).as(added.err()).isZero();
    assertThat(added.out()).startsWith("created consumer workers on stream JOBS\n");

    JsonNode config = JSON.readTree(run("consumer", "info", "JOBS", "workers", "--json").out());
    assertThat(config.path("config").path("maxDeliver").asInt()).isEqualTo(5);
    assertThat(config.path("config").path("deadLetterSubject").asText()).isEqualTo("dlq.jobs");
    assertThat(config.path("config").path("backoffMs"))
        .extracting(JsonNode::asLong)
        .containsExactly(1000L, 5000L);
    assertThat(run("consumer", "ls", "JOBS").out()).containsPattern("\nworkers +shared +each ");
    assertThat(
            JSON.readTree(run("consumer", "ls", "JOBS", "--json").out())
                .path("consumers")
                .findValuesAsText("name"))
        .containsExactly("workers");

    Result published = runWithStdin("one\ntwo\n", "pub", "jobs.email", "--json");
    assertThat(published.jsonLines())
        .extracting(n -> n.path("offset").asLong())
        .containsExactly(0L, 1L);

    // A nack gives the message back at once: the next fetch sees it again, delivery 2.
    Result nacked = run("consumer", "next", "JOBS", "workers", "--nack", "--json");
    assertThat(nacked.code()).isZero();
    JsonNode first = nacked.jsonLines().get(0);
    assertThat(first.path("payload").asText()).isEqualTo("one");
    assertThat(first.path("deliveryCount").asInt()).isEqualTo(1);

    Result acked = run("consumer", "next", "JOBS", "workers", "--count", "2", "--json");
    assertThat(acked.code()).isZero();
    assertThat(acked.jsonLines())
        .extracting(n -> n.path("payload").asText() + "#" + n.path("deliveryCount").asInt())
        .containsExactlyInAnyOrder("one#2", "two#1");
    assertThat(run("consumer", "info", "JOBS", "workers").out())
        .containsPattern("unacknowledged: +0\n");

    Result empty = run("consumer", "next", "JOBS", "workers", "--wait", "200ms");
    assertThat(empty.code()).isEqualTo(ExitCodes.TIMEOUT);
    assertThat(empty.err()).isEqualTo("no message within 200ms\n");

    assertThat(run("pub", "jobs.sms", "three").code()).isZero();
    Result held = run("consumer", "next", "JOBS", "workers", "--no-ack");
    assertThat(held.out()).startsWith("[JOBS/workers partition 0 offset 2 delivery 1] jobs.sms\n");
    assertThat(
            JSON.readTree(run("consumer", "info", "JOBS", "workers", "--json").out())
                .path("unacknowledged")
                .asInt())
        .isEqualTo(1);

    Result rm = run("consumer", "rm", "JOBS", "workers");
    assertThat(rm.out()).isEqualTo("deleted consumer workers of stream JOBS\n");
    Result gone = run("consumer", "info", "JOBS", "workers");
    assertThat(gone.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(gone.err()).startsWith("error 2030 CONSUMER_NOT_FOUND: ");
  }

  @Test
  void shouldStartAConsumerAtAnOffset() throws Exception {
    assertThat(run("stream", "add", "LOG1", "--subjects", "log1.>").code()).isZero();
    assertThat(run("pub", "log1.x", "skipped", "--count", "2").code()).isZero();
    assertThat(run("pub", "log1.x", "wanted").code()).isZero();
    assertThat(
            run("consumer", "add", "LOG1", "tail", "--start", "offset:2", "--mode", "exclusive")
                .code())
        .isZero();
    Result next = run("consumer", "next", "LOG1", "tail", "--member", "m1", "--json");
    assertThat(next.jsonLines().get(0).path("payload").asText()).isEqualTo("wanted");
    assertThat(run("consumer", "info", "LOG1", "tail").out()).containsPattern("start: +offset:2");
  }

  /**
   * Issue 12 §1: without --member, an exclusive or failover consumer's fetch hung for 35 s (the
   * agent threw on a null member). The connection is the member now, and it leaves when the
   * command's connection closes, so the next run (a new connection) takes over at once.
   */
  @Test
  void shouldFetchFromSingleReaderConsumersWithoutAMemberName() throws Exception {
    assertThat(run("stream", "add", "SOLO", "--subjects", "solo.>").code()).isZero();
    assertThat(run("pub", "solo.a", "first", "--count", "1").code()).isZero();
    assertThat(run("pub", "solo.a", "second").code()).isZero();
    for (String mode : List.of("exclusive", "failover")) {
      String name = "ex-" + mode;
      assertThat(run("consumer", "add", "SOLO", name, "--mode", mode, "--ack", "none").code())
          .isZero();
      long start = System.nanoTime();
      Result first = run("consumer", "next", "SOLO", name, "--json");
      assertThat(first.err()).isEmpty();
      assertThat(first.code()).isZero();
      assertThat(first.jsonLines().get(0).path("payload").asText()).isEqualTo("first");
      // A second run is another connection, so another member: it follows the first at once.
      Result second = run("consumer", "next", "SOLO", name, "--json");
      assertThat(second.err()).isEmpty();
      assertThat(second.code()).isZero();
      assertThat(second.jsonLines().get(0).path("payload").asText()).isEqualTo("second");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }
  }

  @Test
  void shouldNotSettleMessagesOfAConsumerWithoutAcks() throws Exception {
    assertThat(run("stream", "add", "FIRE", "--subjects", "fire.>").code()).isZero();
    assertThat(run("consumer", "add", "FIRE", "forget", "--ack", "none").code()).isZero();
    assertThat(run("pub", "fire.a", "and forget").code()).isZero();
    Result next = run("consumer", "next", "FIRE", "forget");
    assertThat(next.code()).isZero();
    assertThat(next.out()).endsWith("\nand forget\n");
    assertThat(next.err()).isEmpty();
  }

  @Test
  void shouldSayWhichConsumerIsMissingBeforeFetching() throws Exception {
    Result r = run("consumer", "next", "NOSUCH", "c", "--wait", "100ms");
    assertThat(r.code()).isEqualTo(ExitCodes.REFUSED);
    // protocol.md lists STREAM_NOT_FOUND here; the broker answers CONSUMER_NOT_FOUND today.
    assertThat(r.err()).matches("error 20(10 STREAM|30 CONSUMER)_NOT_FOUND: .*\"NOSUCH\".*\n");
  }

  // ------------------------------------------------------------------ errors and settings

  @Test
  void shouldRefuseBadArgumentsWithTheUsageCode() throws Exception {
    Result duration = run("req", "a", "b", "--timeout", "2 weeks");
    assertThat(duration.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(duration.err()).contains("--timeout").contains("'2 weeks' is not a duration");

    Result backoff = run("consumer", "add", "S", "C", "--backoff", "1s,soon");
    assertThat(backoff.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(backoff.err()).contains("--backoff");

    Result retention = run("stream", "add", "S", "--subjects", "s", "--retention", "forever");
    assertThat(retention.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(retention.err()).contains("--retention").contains("work-queue");

    Result header = run("pub", "a", "b", "--header", "novalue");
    assertThat(header.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(header.err()).contains("--header must be KEY=VALUE");

    Result start = run("consumer", "add", "S", "C", "--start", "offset");
    assertThat(start.code()).isEqualTo(ExitCodes.USAGE);

    Result both = run("consumer", "next", "S", "C", "--ack", "--nack");
    assertThat(both.code()).isEqualTo(ExitCodes.USAGE);

    Result missing = run("stream", "add", "S");
    assertThat(missing.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(missing.err()).contains("--subjects");
  }

  @Test
  void shouldExitWithThreeWhenNothingListens() throws Exception {
    String dead = "127.0.0.1:" + deadPort();
    Result r = run("stream", "ls", "--server", dead);
    assertThat(r.code()).isEqualTo(ExitCodes.CANNOT_CONNECT);
    assertThat(r.err()).startsWith("cannot connect to " + dead);
  }

  @Test
  void shouldTakeTheServerFromTheEnvironmentUnlessGivenOnTheCommandLine() throws Exception {
    String dead = "127.0.0.1:" + deadPort();
    Map<String, String> deadEnv = Map.of(ClientCommand.SERVER_ENV, dead);

    Result fromEnv = run(deadEnv, InputStream.nullInputStream(), "pub", "env.test", "x");
    assertThat(fromEnv.code()).isEqualTo(ExitCodes.CANNOT_CONNECT);
    assertThat(fromEnv.err()).contains(dead);

    Result flagWins =
        run(deadEnv, InputStream.nullInputStream(), "pub", "env.test", "x", "--server", address());
    assertThat(flagWins.code()).isZero();

    Result envUsed = run(env(), InputStream.nullInputStream(), "pub", "env.test", "x");
    assertThat(envUsed.code()).isZero();
  }

  @Test
  void shouldListTheExitCodesInTheHelp() throws Exception {
    for (String[] args :
        List.of(
            new String[] {"--help"},
            new String[] {"pub", "--help"},
            new String[] {"consumer", "next", "--help"})) {
      Result help = run(args);
      assertThat(help.code()).isZero();
      assertThat(help.out())
          .contains("Exit codes:")
          .contains("3   cannot connect")
          .contains("4   timeout");
    }
  }
}
