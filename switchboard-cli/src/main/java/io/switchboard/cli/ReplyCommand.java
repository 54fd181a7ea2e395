package io.switchboard.cli;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.PubAck;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code switchboard reply}: answers every request on a subject with a fixed response, printing
 * each request. Replies are sent from the client's callback thread; their outcomes are collected
 * and checked on the command's thread before it exits.
 */
@Command(
    name = "reply",
    description = {
      "Answer every request on SUBJECT with RESPONSE, printing each request.",
      "Runs until stopped, or until --count requests are answered."
    })
final class ReplyCommand extends ListenCommand {
  @Parameters(index = "0", paramLabel = "SUBJECT", description = "Subject (or pattern) to serve.")
  String subject;

  @Parameters(index = "1", paramLabel = "RESPONSE", description = "The answer to every request.")
  String response;

  /** Replies not yet acknowledged; pruned as they complete. */
  private final List<CompletableFuture<PubAck>> pending = new ArrayList<>();

  /** The first reply the server refused, if any. */
  private final AtomicReference<SwitchboardClientException> firstFailure = new AtomicReference<>();

  @Override
  String pattern() {
    return subject;
  }

  @Override
  String listening() {
    return "answering requests on "
        + subject
        + (queueGroup == null ? "" : " in queue group " + queueGroup)
        + (count == null ? " (Ctrl-C to stop)" : " until " + count + " are answered");
  }

  @Override
  void handle(SwitchboardClient client, long n, LiveMessage m) {
    output.message(n, m);
    if (m.replyTo() == null) {
      err().println("warning: message #" + n + " on " + m.subject() + " is not a request");
      err().flush();
      return;
    }
    CompletableFuture<PubAck> sent =
        client
            .reply(m, response.getBytes(StandardCharsets.UTF_8))
            .orTimeout(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    sent.whenComplete(
        (ack, t) -> {
          if (t != null) {
            SwitchboardClientException e = toClientException(t);
            if (!firstFailure.compareAndSet(null, e)) {
              err().println("reply to request #" + n + " failed: " + describe(e));
              err().flush();
            }
          }
        });
    synchronized (pending) {
      // Keep only what is unanswered: a long-running responder must not grow without bound.
      pending.removeIf(CompletableFuture::isDone);
      pending.add(sent);
    }
  }

  @Override
  int finish(SwitchboardClient client) {
    List<CompletableFuture<PubAck>> waiting;
    synchronized (pending) {
      waiting = List.copyOf(pending);
    }
    for (CompletableFuture<PubAck> f : waiting) {
      try {
        f.join();
      } catch (CompletionException e) {
        // Recorded by the completion handler above.
      }
    }
    SwitchboardClientException e = firstFailure.get();
    return e == null ? ExitCodes.OK : failed(e, client);
  }
}
