package io.switchboard.cli;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.Reply;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code switchboard req}: sends one request and prints the first reply. */
@Command(
    name = "req",
    description = {
      "Send a request and print the first reply.",
      "No responders, or no reply within --timeout, exits with 4."
    })
final class ReqCommand extends ClientCommand {
  /** Extra time the client waits past the request's timeout for the server to say it expired. */
  private static final Duration GRACE = Duration.ofSeconds(5);

  @Parameters(index = "0", paramLabel = "SUBJECT", description = "Request subject.")
  String subject;

  @Parameters(index = "1", paramLabel = "PAYLOAD", description = "The request body.")
  String payload;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "5s",
      converter = Durations.class,
      description = "How long to wait for a reply: 500ms, 2s, 1m... (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Override
  void validate() {
    if (timeout.toMillis() < 1 || timeout.toMillis() > Integer.MAX_VALUE) {
      throw usage("--timeout must be from 1ms to about 24 days (got " + timeout.toMillis() + "ms)");
    }
  }

  @Override
  int run(SwitchboardClient client) {
    Reply reply =
        client
            .request(subject, payload.getBytes(StandardCharsets.UTF_8), timeout)
            // The server answers REQUEST_TIMEOUT itself; this only guards against a silent server.
            .orTimeout(timeout.plus(GRACE).toMillis(), TimeUnit.MILLISECONDS)
            .join();
    output().reply(reply);
    return ExitCodes.OK;
  }
}
