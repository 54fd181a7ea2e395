package io.switchboard.cli;

import io.switchboard.core.SwitchboardException;
import io.switchboard.security.SecurityService;
import io.switchboard.spi.security.SecurityAdmin;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A command on the security store ({@code user}, {@code acl}, {@code quota}): of a data directory
 * ({@code --data}), which works without a running server (the first admin user is made this way; a
 * server running on that directory reads the change within {@code security.reload-check-ms}), or of
 * a running server through its HTTP admin API ({@code --server}, logging in with {@code --user} and
 * {@code --password-stdin}, or {@code --token}, as the client commands do). Every change is written
 * to the audit log. Confined to the thread running the command line.
 */
@Command(mixinStandardHelpOptions = true)
abstract class SecurityStoreCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "The server's data directory (default: $SWITCHBOARD_DATA_DIR, else data).")
  String data;

  @Option(
      names = "--server",
      paramLabel = "URL",
      description =
          "Act on a running server through its HTTP admin API instead of a data directory:"
              + " http(s)://HOST:PORT, or HOST:PORT of its HTTP listener (https with --tls or"
              + " --tls-ca).")
  String server;

  @Option(
      names = "--user",
      paramLabel = "NAME",
      description =
          "With --server: log in as this user (default: $SWITCHBOARD_USER); the password comes"
              + " from --password-stdin or $SWITCHBOARD_PASSWORD.")
  String user;

  @Option(
      names = "--password-stdin",
      description =
          "Read passwords from standard input, one a line: with --server and a --user, first"
              + " that user's; then, for user add and passwd, the new password.")
  boolean passwordStdin;

  @Option(
      names = "--token",
      paramLabel = "JWT",
      description = "With --server: log in with a bearer token (default: $SWITCHBOARD_TOKEN).")
  String token;

  @Option(
      names = "--tls-ca",
      paramLabel = "PEM",
      description =
          "With --server: use https, trusting the CA certificates in this file (default:"
              + " $SWITCHBOARD_TLS_CA).")
  String tlsCa;

  @Option(names = "--tls", description = "With --server: use https, trusting the JDK's CAs.")
  boolean tls;

  abstract int run(SecurityAdmin admin) throws Exception;

  @Override
  public final Integer call() throws Exception {
    try {
      return run(server == null ? offline() : remote());
    } catch (SwitchboardException e) {
      err().println(e.getMessage());
      err().flush();
      return ExitCodes.REFUSED;
    } catch (HttpSecurityAdmin.Refused e) {
      err().println(e.getMessage());
      err().flush();
      return ExitCodes.REFUSED;
    } catch (HttpSecurityAdmin.Unreachable e) {
      err().println(e.getMessage());
      err().flush();
      return ExitCodes.CANNOT_CONNECT;
    } finally {
      out().flush();
    }
  }

  private SecurityAdmin offline() throws java.io.IOException {
    if (user != null || token != null || tlsCa != null || tls) {
      throw new ParameterException(
          spec.commandLine(), "--user, --token, --tls-ca and --tls go with --server");
    }
    return SecurityService.openAdmin(dataDir());
  }

  /** The running server's store over HTTP, logged in as the options and environment say. */
  private SecurityAdmin remote() {
    if (data != null) {
      throw new ParameterException(spec.commandLine(), "give --data or --server, not both");
    }
    Map<String, String> env = root().environment();
    String name = user != null ? user : env.get("SWITCHBOARD_USER");
    String jwt = token != null ? token : env.get("SWITCHBOARD_TOKEN");
    String ca = tlsCa != null ? tlsCa : env.get("SWITCHBOARD_TLS_CA");
    boolean https = tls || (ca != null && !ca.isBlank());
    String authorization = null;
    if (name != null && !name.isBlank()) {
      String password =
          passwordStdin ? ClientCommand.firstLine(root().stdin()) : env.get("SWITCHBOARD_PASSWORD");
      if (password == null) {
        throw new ParameterException(
            spec.commandLine(), "--user needs --password-stdin or $SWITCHBOARD_PASSWORD");
      }
      authorization = HttpSecurityAdmin.basic(name, password);
    } else if (jwt != null && !jwt.isBlank()) {
      authorization = HttpSecurityAdmin.bearer(jwt.trim());
    }
    URI url;
    try {
      url = HttpSecurityAdmin.parse(server, https);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--server: " + e.getMessage());
    }
    if (url.getScheme().equals("http") && https) {
      throw new ParameterException(spec.commandLine(), "--server is http:// but TLS was asked for");
    }
    try {
      return new HttpSecurityAdmin(
          url, authorization, ca == null || ca.isBlank() ? null : Path.of(ca.trim()));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
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

  /**
   * A new password (user add, passwd): the next line of standard input with {@code
   * --password-stdin} (the first, or the second when the first was the login password), else typed
   * at the console without echo.
   */
  String readPassword() {
    if (!passwordStdin && System.console() != null) {
      char[] typed = System.console().readPassword("password: ");
      if (typed != null) {
        return new String(typed);
      }
    }
    return ClientCommand.firstLine(root().stdin());
  }
}
