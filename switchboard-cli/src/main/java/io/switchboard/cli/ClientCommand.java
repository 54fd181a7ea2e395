package io.switchboard.cli;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A command that talks to a server: it connects, runs, closes the connection, and turns what went
 * wrong into an exit code ({@link ExitCodes}). Confined to the thread running the command line;
 * subclasses that take callbacks on the client's thread say so.
 */
@Command(
    mixinStandardHelpOptions = true,
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {
      ExitCodes.OK_LINE,
      ExitCodes.REFUSED_LINE,
      ExitCodes.USAGE_LINE,
      ExitCodes.CANNOT_CONNECT_LINE,
      ExitCodes.TIMEOUT_LINE
    })
abstract class ClientCommand implements Callable<Integer> {
  /** The environment variable naming the server when {@code --server} is absent. */
  static final String SERVER_ENV = "SWITCHBOARD_SERVER";

  /** The server's default native address. */
  static final String DEFAULT_SERVER = "127.0.0.1:" + ClientOptions.DEFAULT_PORT;

  /** How long a command waits for an answer the server owes it (the client's default too). */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  @Option(
      names = "--server",
      paramLabel = "HOST:PORT",
      description =
          "Server to connect to (default: $SWITCHBOARD_SERVER, else " + DEFAULT_SERVER + ").")
  String server;

  @Option(names = "--json", description = "Machine-readable output: one JSON object per line.")
  boolean json;

  @Option(
      names = "--user",
      paramLabel = "NAME",
      description =
          "Log in as this user (default: $SWITCHBOARD_USER); the password comes from"
              + " --password-stdin or $SWITCHBOARD_PASSWORD.")
  String user;

  @Option(
      names = "--password-stdin",
      description = "Read the password from the first line of standard input.")
  boolean passwordStdin;

  @Option(
      names = "--token",
      paramLabel = "JWT",
      description =
          "Log in with a bearer token (default: $SWITCHBOARD_TOKEN; prefer the"
              + " variable, a command line is visible to other users).")
  String token;

  @Option(
      names = "--tls-ca",
      paramLabel = "PEM",
      description =
          "Connect over TLS, trusting the CA certificates in this file (default:"
              + " $SWITCHBOARD_TLS_CA).")
  String tlsCa;

  @Option(names = "--tls", description = "Connect over TLS, trusting the JDK's CA certificates.")
  boolean tls;

  /** Does the command's work over {@code client}; returns the exit code. */
  abstract int run(SwitchboardClient client) throws Exception;

  /** Checks arguments before connecting; throws {@link ParameterException} for usage errors. */
  void validate() {}

  /**
   * Whether the client re-dials a lost connection. Not for a one-shot command (the default): it
   * would sit through the client's back-off while its requests time out one by one, where
   * docs/cli.md promises that a lost connection ends it with exit 3; without reconnecting, what is
   * pending fails with CONNECTION_LOST at once and so does whatever follows.
   */
  boolean reconnects() {
    return false;
  }

  @Override
  public final Integer call() throws Exception {
    validate();
    String address = serverAddress();
    ClientOptions options;
    try {
      options = ClientOptions.parse(address).withReconnect(reconnects());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--server: " + e.getMessage());
    }
    options = withSecurity(options);
    SwitchboardClient client;
    try {
      client = SwitchboardClient.connect(options);
    } catch (RuntimeException e) {
      if (e instanceof SwitchboardClientException sce
          && (sce.errorCode() == ErrorCode.AUTHENTICATION_FAILED
              || sce.errorCode() == ErrorCode.AUTHENTICATION_REQUIRED)) {
        err().println(describe(sce));
        err().flush();
        return ExitCodes.REFUSED; // the server answered: refused, not unreachable
      }
      String why = detail(e);
      err()
          .println(
              why.startsWith("cannot connect") ? why : "cannot connect to " + address + ": " + why);
      err().flush();
      return ExitCodes.CANNOT_CONNECT;
    }
    try (client) {
      // Failures are judged before the client closes: failed() asks whether it is still connected.
      try {
        return run(client);
      } catch (SwitchboardClientException e) {
        return failed(e, client);
      } catch (CompletionException e) {
        return failed(asClientException(e), client);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof SwitchboardClientException sce) {
          return failed(sce, client);
        }
        throw e;
      }
    } finally {
      out().flush();
      err().flush();
    }
  }

  /** Reports {@code e} on stderr and returns its exit code. */
  int failed(SwitchboardClientException e, SwitchboardClient client) {
    ErrorCode code = e.errorCode();
    if (code == ErrorCode.CONNECTION_LOST || code == ErrorCode.CONNECTION_FAILED) {
      err().println("connection lost: " + detail(e));
      return ExitCodes.CANNOT_CONNECT;
    }
    err().println(describe(e));
    return code == ErrorCode.REQUEST_TIMEOUT || code == ErrorCode.NO_RESPONDERS
        ? ExitCodes.TIMEOUT
        : ExitCodes.REFUSED;
  }

  /**
   * The client exception behind a failed future: the server's error, or a timeout of our own.
   *
   * @throws CompletionException {@code e} itself when it is neither
   */
  static SwitchboardClientException asClientException(CompletionException e) {
    if (e.getCause() instanceof SwitchboardClientException sce) {
      return sce;
    }
    if (e.getCause() instanceof TimeoutException) {
      return toClientException(e);
    }
    throw e;
  }

  /**
   * {@code t} (a future's failure) as a client exception: the server's error, a timeout of our own,
   * or anything else as {@code INTERNAL} with its description.
   */
  static SwitchboardClientException toClientException(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (c instanceof SwitchboardClientException sce) {
      return sce;
    }
    if (c instanceof TimeoutException) {
      return new SwitchboardClientException(
          ErrorCode.REQUEST_TIMEOUT.number(), "no answer from the server in time");
    }
    return new SwitchboardClientException(ErrorCode.INTERNAL.number(), String.valueOf(c));
  }

  /** {@code error 2010 STREAM_NOT_FOUND: no stream named "X"}. */
  static String describe(SwitchboardClientException e) {
    ErrorCode code = e.errorCode();
    return "error " + e.code() + " " + (code == null ? "UNKNOWN" : code.name()) + ": " + detail(e);
  }

  /** The message without the {@code [code NAME] } prefix. */
  static String detail(RuntimeException e) {
    return e instanceof SwitchboardClientException sce
        ? sce.detail()
        : String.valueOf(e.getMessage());
  }

  private String stdinPassword;

  /** Credentials and TLS from the options, else the {@code SWITCHBOARD_*} environment. */
  ClientOptions withSecurity(ClientOptions options) {
    Map<String, String> env = root().environment();
    String name = user != null ? user : env.get("SWITCHBOARD_USER");
    String jwt = token != null ? token : env.get("SWITCHBOARD_TOKEN");
    String ca = tlsCa != null ? tlsCa : env.get("SWITCHBOARD_TLS_CA");
    if (name != null && !name.isBlank()) {
      if (passwordStdin && stdinPassword == null) {
        stdinPassword = firstLine(root().stdin()); // read once: commands with several connections
      }
      String password = passwordStdin ? stdinPassword : env.get("SWITCHBOARD_PASSWORD");
      if (password == null) {
        throw new ParameterException(
            spec.commandLine(), "--user needs --password-stdin or $SWITCHBOARD_PASSWORD");
      }
      options = options.withCredentials(name, password);
    } else if (jwt != null && !jwt.isBlank()) {
      options = options.withToken(jwt.trim());
    }
    if (ca != null && !ca.isBlank()) {
      options = options.withTls(ca);
    } else if (tls) {
      options = options.withTls(null);
    }
    return options;
  }

  /** The first line of {@code in}, read byte by byte so the rest stays for the command. */
  static String firstLine(java.io.InputStream in) {
    java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
    try {
      for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
        if (b != '\r') {
          line.write(b);
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return line.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  String serverAddress() {
    if (server != null) {
      return server;
    }
    String fromEnv = root().environment().get(SERVER_ENV);
    return fromEnv == null || fromEnv.isBlank() ? DEFAULT_SERVER : fromEnv.trim();
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

  Output output() {
    return new Output(out(), json);
  }

  ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
