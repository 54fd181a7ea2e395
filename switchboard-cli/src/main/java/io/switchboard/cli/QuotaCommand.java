package io.switchboard.cli;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.QuotaLimits;
import io.switchboard.spi.security.SecurityAdmin;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code switchboard quota}: limits per principal, in a data directory or a running server. */
@Command(
    name = "quota",
    description =
        "Manage quotas per principal: set, ls, rm (rates per second; 0 is unlimited; see"
            + " docs/security.md), in the data directory or, with --server, a running server.",
    mixinStandardHelpOptions = true,
    subcommands = {QuotaCommand.Set.class, QuotaCommand.Ls.class, QuotaCommand.Rm.class})
final class QuotaCommand {
  private QuotaCommand() {}

  /** {@code quota set PRINCIPAL NAME=VALUE...}. */
  @Command(
      name = "set",
      description = {
        "Set a principal's quota (replacing the one it had), e.g. quota set user:alice"
            + " publish-bytes=1048576 connections=4. Limits not given take the default."
      })
  static final class Set extends SecurityStoreCommand {
    @Parameters(
        index = "0",
        paramLabel = "PRINCIPAL",
        description = "user:NAME, token:SUBJECT, cert:DN, anonymous, or default (everyone else).")
    String principal;

    @Parameters(
        index = "1..*",
        arity = "1..*",
        paramLabel = "NAME=VALUE",
        description =
            "publish-bytes, publish-messages, consume-bytes, requests (per second), connections,"
                + " consumers (open at once); 0 is unlimited.")
    List<String> limits;

    @Override
    int run(SecurityAdmin admin) {
      Map<String, Long> fields = new LinkedHashMap<>();
      for (String l : limits) {
        int eq = l.indexOf('=');
        if (eq <= 0) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "\"" + l + "\" is not NAME=VALUE");
        }
        try {
          fields.put(l.substring(0, eq), Long.parseLong(l.substring(eq + 1).trim()));
        } catch (NumberFormatException e) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "\"" + l + "\" needs a whole number after =");
        }
      }
      QuotaLimits q = QuotaLimits.fromMap(fields);
      admin.setQuota(principal, q, actor());
      out().println("set quota " + describe(principal, q));
      return ExitCodes.OK;
    }
  }

  /** {@code quota ls}. */
  @Command(name = "ls", description = "List stored quotas: PRINCIPAL NAME=VALUE...")
  static final class Ls extends SecurityStoreCommand {
    @Override
    int run(SecurityAdmin admin) {
      admin.storedQuotas().forEach((who, q) -> out().println(describe(who, q)));
      return ExitCodes.OK;
    }
  }

  /** {@code quota rm PRINCIPAL}. */
  @Command(name = "rm", description = "Remove a principal's quota (it takes the default again).")
  static final class Rm extends SecurityStoreCommand {
    @Parameters(index = "0", paramLabel = "PRINCIPAL", description = "As quota ls shows it.")
    String principal;

    @Override
    int run(SecurityAdmin admin) {
      admin.removeQuota(principal, actor());
      out().println("removed quota " + principal);
      return ExitCodes.OK;
    }
  }

  static String describe(String principal, QuotaLimits q) {
    return principal
        + " "
        + q.asMap().entrySet().stream()
            .filter(e -> e.getValue() != QuotaLimits.INHERIT)
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(" "));
  }
}
