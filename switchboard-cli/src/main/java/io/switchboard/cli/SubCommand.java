package io.switchboard.cli;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.LiveMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code switchboard sub}: prints live messages on a subject pattern. */
@Command(
    name = "sub",
    description = {
      "Subscribe to live messages and print each one: subject, headers, payload.",
      "Patterns: '*' matches one token, '>' one or more at the end (orders.*.created, orders.>)."
    })
final class SubCommand extends ListenCommand {
  @Parameters(index = "0", paramLabel = "PATTERN", description = "Subject pattern.")
  String pattern;

  @Override
  String pattern() {
    return pattern;
  }

  @Override
  String listening() {
    return "listening on "
        + pattern
        + (queueGroup == null ? "" : " in queue group " + queueGroup)
        + (count == null ? " (Ctrl-C to stop)" : " for " + count + " messages");
  }

  @Override
  void handle(SwitchboardClient client, long n, LiveMessage m) {
    output.message(n, m);
  }
}
