package io.switchboard.cli;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Option;

/**
 * A command that holds a live subscription until it has handled {@code --count} messages or the
 * process is stopped; across a lost connection the client reconnects and subscribes again. {@link
 * #handle} runs on the client's callback thread, one message at a time; everything else on the
 * command's thread.
 */
abstract class ListenCommand extends ClientCommand {
  /** How often the waiting thread checks the connection, to tell the user it was lost. */
  private static final long LIVENESS_CHECK_MS = 500;

  @Option(
      names = "--queue",
      paramLabel = "GROUP",
      description = "Join queue group GROUP: each message goes to one member of the group.")
  String queueGroup;

  @Option(
      names = "--count",
      paramLabel = "N",
      description = "Exit after N messages (default: run until stopped).")
  Long count;

  /** Set before subscribing; read on the callback thread. */
  volatile Output output;

  @Override
  void validate() {
    if (count != null && count < 1) {
      throw usage("--count must be at least 1 (got " + count + ")");
    }
  }

  /** Runs until stopped, so it rides out a lost connection (docs/cli.md, sub). */
  @Override
  boolean reconnects() {
    return true;
  }

  /** The pattern or subject to subscribe to. */
  abstract String pattern();

  /** What the command says on stderr once the subscription is in place. */
  abstract String listening();

  /** Handles message number {@code n} (from 1); runs on the client's callback thread. */
  abstract void handle(SwitchboardClient client, long n, LiveMessage m);

  /** Runs after the last message, on the command's thread; returns the exit code. */
  int finish(SwitchboardClient client) {
    return ExitCodes.OK;
  }

  @Override
  final int run(SwitchboardClient client) throws InterruptedException {
    AtomicLong seen = new AtomicLong();
    long limit = count == null ? Long.MAX_VALUE : count;
    CountDownLatch done = new CountDownLatch(1);
    output = output();
    SwitchboardClient.Subscription subscription =
        client.subscribe(
            pattern(),
            queueGroup,
            m -> {
              // Messages already in flight when the limit is reached are not handled.
              long n = seen.incrementAndGet();
              if (n <= limit) {
                handle(client, n, m);
              }
              if (n >= limit) {
                done.countDown();
              }
            },
            dropped ->
                err().println("warning: the server dropped " + dropped + " messages (too slow)"));
    try {
      err().println(listening());
      err().flush();
      boolean connected = true;
      while (!done.await(LIVENESS_CHECK_MS, TimeUnit.MILLISECONDS)) {
        // The client re-dials and restores the subscription; messages meanwhile are missed.
        if (connected != client.isConnected()) {
          connected = !connected;
          err().println(connected ? "reconnected" : "connection lost; reconnecting");
          err().flush();
        }
      }
    } finally {
      subscription.close();
    }
    return finish(client);
  }
}
