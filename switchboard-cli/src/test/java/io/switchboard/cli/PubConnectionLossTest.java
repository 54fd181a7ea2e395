package io.switchboard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.nativ.NativeKeys;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code switchboard pub} reading standard input when the server goes away (issue 12 §3): it ends
 * within seconds with exit 3 and one line on stderr, instead of sitting through reconnect attempts
 * while each publish times out. Run in process, as {@link CliEndToEndTest} runs commands, with a
 * pipe for standard input and a server of its own that the test stops.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PubConnectionLossTest {
  /** "Promptly": far below the 30 s a publish waits for its acknowledgement. */
  private static final Duration PROMPTLY = Duration.ofSeconds(5);

  private static final Duration DEADLINE = Duration.ofSeconds(20);

  @TempDir Path dir;
  SwitchboardServer server;
  ExecutorService background;
  PipedOutputStream stdin;
  StringWriter out;
  StringWriter err;
  CompletableFuture<Integer> code;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), NativeKeys.PORT.name(), "0"));
    server.broker().createStream(StreamConfig.builder("LINES", "lines.>").build());
    background = Executors.newCachedThreadPool();
    stdin = new PipedOutputStream();
    PipedInputStream in = new PipedInputStream(stdin, 64 * 1024);
    out = new StringWriter();
    err = new StringWriter();
    String address = "127.0.0.1:" + server.addresses().get("native").getPort();
    CommandLine cli =
        new CommandLine(new SwitchboardCli(Map.of(ClientCommand.SERVER_ENV, address), in));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    code = CompletableFuture.supplyAsync(() -> cli.execute("pub", "lines.x"), background);
  }

  @AfterEach
  void stop() throws Exception {
    stdin.close();
    server.close();
    background.shutdownNow();
    assertThat(background.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  void write(String text) throws IOException {
    stdin.write(text.getBytes(StandardCharsets.UTF_8));
    stdin.flush();
  }

  /**
   * Publishes two lines while the server is up; returns once both are stored (seen in the stream,
   * not on stdout: when the command prints an acknowledgement is not what is tested here).
   */
  void publishTwo() throws IOException {
    write("one\ntwo\n");
    await()
        .atMost(DEADLINE)
        .until(() -> server.broker().streamInfo("LINES").partitions().getFirst().nextOffset() == 2);
  }

  void assertExitsThreePromptlyWithOneLine(long stoppedAtNs) throws Exception {
    int exit = code.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - stoppedAtNs);
    assertThat(exit).as("stderr: %s", err).isEqualTo(ExitCodes.CANNOT_CONNECT);
    assertThat(took).as("exit after the server stopped").isLessThan(PROMPTLY);
    assertThat(err.toString().lines()).as("stderr").hasSize(1);
    assertThat(err.toString()).startsWith("connection lost: ").doesNotContain("client closed");
    assertThat(out.toString().lines()).hasSize(2);
  }

  @Test
  void shouldExitThreePromptlyWhenTheServerStopsWhileLinesKeepComing() throws Exception {
    publishTwo();
    server.close();
    long stoppedAt = System.nanoTime();
    // A producer that goes on writing: more lines than the publish window, until the pipe breaks.
    CompletableFuture.runAsync(
        () -> {
          try {
            for (int i = 0; i < 10 * PubCommand.WINDOW; i++) {
              write("after " + i + "\n");
            }
          } catch (IOException e) {
            // the command stopped reading: the pipe is closed
          }
        },
        background);
    assertExitsThreePromptlyWithOneLine(stoppedAt);
  }

  @Test
  void shouldExitThreePromptlyWhenTheServerStopsWhileStdinIsQuiet() throws Exception {
    publishTwo();
    server.close();
    assertExitsThreePromptlyWithOneLine(System.nanoTime());
  }
}
