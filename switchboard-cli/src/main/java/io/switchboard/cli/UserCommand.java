package io.switchboard.cli;

import io.switchboard.spi.security.SecurityAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code switchboard user}: users with SCRAM credentials, in a data directory or a server. */
@Command(
    name = "user",
    description =
        "Manage users: add, ls, rm, passwd (in the data directory, which a running server"
            + " reads within seconds; or with --server, through a running server's HTTP API).",
    mixinStandardHelpOptions = true,
    subcommands = {
      UserCommand.Add.class,
      UserCommand.Ls.class,
      UserCommand.Rm.class,
      UserCommand.Passwd.class
    })
final class UserCommand {
  private UserCommand() {}

  /** {@code user add NAME}: the password from standard input's first line or the console. */
  @Command(
      name = "add",
      description = "Add a user (SCRAM-SHA-256 and -512; the password is not stored).")
  static final class Add extends SecurityStoreCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "User name.")
    String name;

    @Override
    int run(SecurityAdmin admin) {
      admin.addUser(name, readPassword(), actor());
      out().println("added user " + name);
      return ExitCodes.OK;
    }
  }

  /** {@code user ls}. */
  @Command(name = "ls", description = "List users.")
  static final class Ls extends SecurityStoreCommand {
    @Override
    int run(SecurityAdmin admin) {
      admin.users().forEach(out()::println);
      return ExitCodes.OK;
    }
  }

  /** {@code user rm NAME}. */
  @Command(name = "rm", description = "Remove a user; its open connections lose access.")
  static final class Rm extends SecurityStoreCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "User name.")
    String name;

    @Override
    int run(SecurityAdmin admin) {
      admin.removeUser(name, actor());
      out().println("removed user " + name);
      return ExitCodes.OK;
    }
  }

  /** {@code user passwd NAME}. */
  @Command(name = "passwd", description = "Set a user's password.")
  static final class Passwd extends SecurityStoreCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "User name.")
    String name;

    @Override
    int run(SecurityAdmin admin) {
      admin.setPassword(name, readPassword(), actor());
      out().println("changed the password of " + name);
      return ExitCodes.OK;
    }
  }
}
