package io.switchboard.cli;

import java.io.InputStream;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code switchboard} command line. Confined to the thread that runs it; client commands start
 * the client's own threads and stop them before they return.
 *
 * <p>The environment and standard input are passed in rather than read from {@link System} where
 * they are used, so that tests can run commands in process with their own.
 */
@Command(
    name = "switchboard",
    mixinStandardHelpOptions = true,
    version = "switchboard 0.1.0-SNAPSHOT",
    description = "One broker for streams, queues, pub/sub, request/reply and events.",
    subcommands = {
      ServerCommand.class,
      PubCommand.class,
      SubCommand.class,
      ReqCommand.class,
      ReplyCommand.class,
      StreamCommand.class,
      ConsumerCommand.class,
      BenchCommand.class,
      UserCommand.class,
      AclCommand.class,
      QuotaCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {
      ExitCodes.OK_LINE,
      ExitCodes.REFUSED_LINE,
      ExitCodes.USAGE_LINE,
      ExitCodes.CANNOT_CONNECT_LINE,
      ExitCodes.TIMEOUT_LINE
    })
public final class SwitchboardCli {
  private final Map<String, String> environment;
  private final InputStream stdin;

  /** A command line reading the process's environment and standard input. */
  public SwitchboardCli() {
    this(System.getenv(), System.in);
  }

  /**
   * A command line reading {@code environment} (for {@code SWITCHBOARD_SERVER}) and {@code stdin}
   * (for {@code pub} without a payload) instead of the process's.
   */
  public SwitchboardCli(Map<String, String> environment, InputStream stdin) {
    this.environment = Map.copyOf(environment);
    this.stdin = stdin;
  }

  Map<String, String> environment() {
    return environment;
  }

  InputStream stdin() {
    return stdin;
  }

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new SwitchboardCli()).execute(args));
  }
}
