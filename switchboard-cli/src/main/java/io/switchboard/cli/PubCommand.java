package io.switchboard.cli;

import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.frame.PubAck;
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

  /**
   * How long reading waits for a line before it prints the acknowledgements that came and looks at
   * the connection: a lost one ends the command even while standard input is quiet.
   */
  static final long IDLE_CHECK_MS = 200;

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
  int run(SwitchboardClient client) throws InterruptedException {
    Output output = output();
    Publisher publisher = new Publisher(client, output);
    if (payload != null) {
      publisher.publish(payload);
    } else {
      try (LineFeed lines = LineFeed.start(root().stdin(), WINDOW)) {
        while (!publisher.hasFailed()) {
          String line = lines.next(IDLE_CHECK_MS);
          if (line != null) {
            publisher.publish(line);
          } else if (lines.ended()) {
            break;
          } else {
            publisher.settleDone(); // no input now: print what was acknowledged meanwhile
          }
        }
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
   * printed, even after one has failed. A lost connection ends publishing: the publishes it left
   * unacknowledged are summed up in one line rather than each printing the same error.
   */
  private final class Publisher {
    private final SwitchboardClient client;
    private final Output output;
    private final ArrayDeque<CompletableFuture<PubAck>> inFlight = new ArrayDeque<>();
    private SwitchboardClientException firstFailure;
    private int failures;
    private SwitchboardClientException lost;
    private int unacknowledged;

    Publisher(SwitchboardClient client, Output output) {
      this.client = client;
      this.output = output;
    }

    void publish(String body) {
      for (int i = 0; i < count && !hasFailed(); i++) {
        settleDone();
        if (inFlight.size() >= WINDOW) {
          settle(inFlight.removeFirst());
        }
        if (hasFailed()) {
          return;
        }
        inFlight.addLast(
            client
                .publishAsync(build(body))
                .orTimeout(ClientCommand.REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
      }
    }

    /** Prints the outcomes that have arrived, in publish order (stops at the first pending). */
    void settleDone() {
      while (!inFlight.isEmpty() && inFlight.peekFirst().isDone()) {
        settle(inFlight.removeFirst());
      }
    }

    /** A publish was refused, or the connection is gone (the client does not reconnect). */
    boolean hasFailed() {
      return firstFailure != null || lost != null || client.isClosed();
    }

    int finish() {
      while (!inFlight.isEmpty()) {
        settle(inFlight.removeFirst());
      }
      if (lost == null && client.isClosed()) {
        // Lost while nothing was in flight: no publish carries the client's own message.
        lost =
            new SwitchboardClientException(
                ErrorCode.CONNECTION_LOST.number(),
                ErrorCode.CONNECTION_LOST.format(serverAddress(), ""));
      }
      if (lost != null) {
        if (firstFailure != null) {
          err().println(describe(firstFailure));
        }
        err()
            .println(
                "connection lost: "
                    + detail(lost)
                    + (unacknowledged == 0
                        ? ""
                        : "; "
                            + unacknowledged
                            + (unacknowledged == 1 ? " publish" : " publishes")
                            + " not acknowledged (each may or may not have been stored)"));
        return ExitCodes.CANNOT_CONNECT;
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
        if (sce.errorCode() == ErrorCode.CONNECTION_LOST) {
          unacknowledged++;
          if (lost == null) {
            lost = sce;
          }
          return;
        }
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
