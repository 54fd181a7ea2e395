package io.switchboard.cli;

/** The exit codes of client commands, and their lines in {@code --help}. Constants only. */
final class ExitCodes {
  /** The command did what it was asked. */
  static final int OK = 0;

  /** The server refused a request; its error code and message went to stderr. */
  static final int REFUSED = 1;

  /** Bad arguments (picocli's usage error code). */
  static final int USAGE = 2;

  /** The server could not be reached, or the connection was lost. */
  static final int CANNOT_CONNECT = 3;

  /** A request timed out, or nobody answers its subject. */
  static final int TIMEOUT = 4;

  static final String HEADING = "%nExit codes:%n";
  static final String OK_LINE = "0:ok";
  static final String REFUSED_LINE =
      "1:the server refused (its error code and message are printed to stderr)";
  static final String USAGE_LINE = "2:usage error: bad or missing arguments";
  static final String CANNOT_CONNECT_LINE = "3:cannot connect to the server, or connection lost";
  static final String TIMEOUT_LINE = "4:timeout, or no responders for a request";

  private ExitCodes() {}
}
