package io.switchboard.cli;

import io.switchboard.core.SwitchboardException;
import io.switchboard.security.SecurityService;
import io.switchboard.spi.security.SecurityAdmin;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command on the security store in a data directory ({@code user}, {@code acl}): it works without
 * a running server (the first admin user is made this way), and a server running on that directory
 * reads the change within {@code security.reload-check-ms}. Every change is written to the audit
 * log. Confined to the thread running the command line.
 */
@Command(mixinStandardHelpOptions = true)
abstract class SecurityStoreCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "The server's data directory (default: $SWITCHBOARD_DATA_DIR, else data).")
  String data;

  abstract int run(SecurityAdmin admin) throws Exception;

  @Override
  public final Integer call() throws Exception {
    try {
      return run(SecurityService.openAdmin(dataDir()));
    } catch (SwitchboardException e) {
      err().println(e.getMessage());
      err().flush();
      return ExitCodes.REFUSED;
    } finally {
      out().flush();
    }
  }

  Path dataDir() {
    if (data != null) {
      return Path.of(data);
    }
    String env = root().environment().get("SWITCHBOARD_DATA_DIR");
    return Path.of(env == null || env.isBlank() ? "data" : env.trim());
  }

  /** Who makes the change, for the audit log. */
  static String actor() {
    return "cli:" + System.getProperty("user.name", "?");
  }

  SwitchboardCli root() {
    Object top = spec.root().userObject();
    return top instanceof SwitchboardCli cli ? cli : new SwitchboardCli(System.getenv(), System.in);
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** A password: the first line of standard input, or typed at the console without echo. */
  String readPassword(boolean fromStdin) {
    if (!fromStdin && System.console() != null) {
      char[] typed = System.console().readPassword("password: ");
      if (typed != null) {
        return new String(typed);
      }
    }
    return ClientCommand.firstLine(root().stdin());
  }
}
