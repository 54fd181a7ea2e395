package io.switchboard.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code switchboard} command line. Confined to the main thread. */
@Command(
    name = "switchboard",
    mixinStandardHelpOptions = true,
    version = "switchboard 0.1.0-SNAPSHOT",
    description = "One broker for streams, queues, pub/sub, request/reply and events.",
    subcommands = {ServerCommand.class, CommandLine.HelpCommand.class})
public final class SwitchboardCli {

  private SwitchboardCli() {}

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new SwitchboardCli()).execute(args));
  }
}
