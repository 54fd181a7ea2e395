package io.switchboard.cli;

import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.protocol.frame.PubAck;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code switchboard pub}: publishes a payload, or each line of standard input, and prints each
 * acknowledgement in publish order. Up to {@value #WINDOW} publishes are in flight at once.
 */
@Command(
    name = "pub",
    description = {
      "Publish a message; without PAYLOAD, publish each line of standard input.",
      "Prints where each message was stored (stream, partition, offset, durability)."
    })
final class PubCommand extends ClientCommand {
  /** Enough to keep the connection busy, few enough that a failure stops the run early. */
  static final int WINDOW = 256;

  /** The header that delays delivery ({@code docs/guarantees.md}, delayed delivery). */
  static final String DELAY_HEADER = "sb-delay-ms";

  @Parameters(index = "0", paramLabel = "SUBJECT", description = "Subject to publish to.")
  String subject;

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "PAYLOAD",
      description = "The message body; when absent, each line of stdin is one message.")
  String payload;

  @Option(names = "--header", paramLabel = "KEY=VALUE", description = "A header (repeatable).")
  List<String> headers = new ArrayList<>();

  @Option(names = "--key", paramLabel = "KEY", description = "Partitioning and compaction key.")
  String key;

  @Option(
      names = "--count",
      paramLabel = "N",
      defaultValue = "1",
      description = "Publish each payload N times (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--reply-to", paramLabel = "SUBJECT", description = "Reply subject.")
  String replyTo;

  @Option(
      names = "--message-id",
      paramLabel = "ID",
      description = "De-duplication id: a repeat within the stream's window is not stored again.")
  String messageId;

  @Option(
      names = "--expect-last-offset",
      paramLabel = "N",
      description =
          "Store only if the subject's last message is at offset N (-1: it has none);"
              + " else the server refuses with PUBLISH_CONFLICT.")
  Long expectLastOffset;

  @Option(
      names = "--delay-ms",
      paramLabel = "N",
      description = "Deliver N ms from now (sets header " + DELAY_HEADER + ").")
  Long delayMs;

  private final List<String[]> parsedHeaders = new ArrayList<>();

  @Override
  void validate() {
    if (count < 1) {
      throw usage("--count must be at least 1 (got " + count + ")");
    }
    if (expectLastOffset != null && expectLastOffset < -1) {
      throw usage("--expect-last-offset must be -1 or more (got " + expectLastOffset + ")");
    }
    if (delayMs != null && delayMs < 0) {
      throw usage("--delay-ms must be 0 or more (got " + delayMs + ")");
    }
    parsedHeaders.clear();
    for (String h : headers) {
      int eq = h.indexOf('=');
      if (eq <= 0) {
        throw usage("--header must be KEY=VALUE (got '" + h + "')");
      }
      parsedHeaders.add(new String[] {h.substring(0, eq), h.substring(eq + 1)});
    }
  }

  @Override
  int run(SwitchboardClient client) throws IOException {
    Output output = output();
    Publisher publisher = new Publisher(client, output);
    if (payload != null) {
      publisher.publish(payload);
    } else {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(root().stdin(), StandardCharsets.UTF_8));
      for (String line = in.readLine();
          line != null && !publisher.hasFailed();
          line = in.readLine()) {
        publisher.publish(line);
      }
    }
    return publisher.finish();
  }

  private PublishBuilder build(String body) {
    PublishBuilder p = PublishBuilder.to(subject, body);
    for (String[] h : parsedHeaders) {
      p.header(h[0], h[1]);
    }
    if (delayMs != null) {
      p.header(DELAY_HEADER, Long.toString(delayMs));
    }
    if (key != null) {
      p.key(key.getBytes(StandardCharsets.UTF_8));
    }
    if (replyTo != null) {
      p.replyTo(replyTo);
    }
    if (messageId != null) {
      p.messageId(messageId);
    }
    if (expectLastOffset != null) {
      p.expectLastOffset(expectLastOffset);
    }
    return p;
  }

  /**
   * Pipelines publishes and prints their outcomes in order; every publish sent gets its outcome
   * printed, even after one has failed.
   */
  private final class Publisher {
    private final SwitchboardClient client;
    private final Output output;
    private final ArrayDeque<CompletableFuture<PubAck>> inFlight = new ArrayDeque<>();
    private SwitchboardClientException firstFailure;
    private int failures;

    Publisher(SwitchboardClient client, Output output) {
      this.client = client;
      this.output = output;
    }

    void publish(String body) {
      for (int i = 0; i < count && firstFailure == null; i++) {
        if (inFlight.size() >= WINDOW) {
          settle(inFlight.removeFirst());
        }
        inFlight.addLast(
            client
                .publishAsync(build(body))
                .orTimeout(ClientCommand.REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
      }
    }

    boolean hasFailed() {
      return firstFailure != null;
    }

    int finish() {
      while (!inFlight.isEmpty()) {
        settle(inFlight.removeFirst());
      }
      if (firstFailure != null) {
        if (failures > 1) {
          err().println(failures + " publishes failed");
        }
        return failed(firstFailure, client);
      }
      return ExitCodes.OK;
    }

    private void settle(CompletableFuture<PubAck> f) {
      try {
        output.ack(f.join());
      } catch (CompletionException e) {
        SwitchboardClientException sce = asClientException(e);
        failures++;
        if (firstFailure == null) {
          firstFailure = sce;
        } else {
          err().println(describe(sce));
        }
      }
    }
  }
}
