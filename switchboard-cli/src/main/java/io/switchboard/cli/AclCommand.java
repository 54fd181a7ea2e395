package io.switchboard.cli;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code switchboard acl}: allow and deny rules, in a data directory or a running server. */
@Command(
    name = "acl",
    description =
        "Manage authorization rules: add, ls, rm (deny wins; see docs/security.md), in the data"
            + " directory or, with --server, a running server.",
    mixinStandardHelpOptions = true,
    subcommands = {AclCommand.Add.class, AclCommand.Ls.class, AclCommand.Rm.class})
final class AclCommand {
  private AclCommand() {}

  /** {@code acl add allow|deny PRINCIPAL --permissions p,... --resource PATTERN}. */
  @Command(
      name = "add",
      description = {
        "Add a rule, e.g. acl add allow user:alice --permissions publish,subscribe"
            + " --resource 'orders.>'"
      })
  static final class Add extends SecurityStoreCommand {
    @Parameters(index = "0", paramLabel = "EFFECT", description = "allow or deny.")
    String effect;

    @Parameters(
        index = "1",
        paramLabel = "PRINCIPAL",
        description = "user:NAME, token:SUBJECT, cert:DN, user:* (every user), anonymous or *.")
    String principal;

    @Option(
        names = "--permissions",
        required = true,
        split = ",",
        paramLabel = "P",
        description = "publish, subscribe, consume, request, reply, admin (comma-separated).")
    List<String> permissions = new ArrayList<>();

    @Option(
        names = "--resource",
        required = true,
        paramLabel = "PATTERN",
        description = "Subject pattern (orders.>), or stream.consumer for consume and admin.")
    String resource;

    @Override
    int run(SecurityAdmin admin) {
      EnumSet<Permission> perms = EnumSet.noneOf(Permission.class);
      for (String p : permissions) {
        try {
          perms.add(Permission.parse(p));
        } catch (IllegalArgumentException e) {
          throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, e.getMessage());
        }
      }
      AclRule stored =
          admin.addRule(
              new AclRule("", AclRule.Effect.parse(effect), principal, perms, resource), actor());
      out().println("added rule " + describe(stored));
      return ExitCodes.OK;
    }
  }

  /** {@code acl ls}. */
  @Command(name = "ls", description = "List rules: ID EFFECT PRINCIPAL PERMISSIONS RESOURCE.")
  static final class Ls extends SecurityStoreCommand {
    @Override
    int run(SecurityAdmin admin) {
      admin.rules().forEach(r -> out().println(describe(r)));
      return ExitCodes.OK;
    }
  }

  /** {@code acl rm ID}. */
  @Command(name = "rm", description = "Remove a rule by id.")
  static final class Rm extends SecurityStoreCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "Rule id (from acl ls).")
    String id;

    @Override
    int run(SecurityAdmin admin) {
      admin.removeRule(id, actor());
      out().println("removed rule " + id);
      return ExitCodes.OK;
    }
  }

  static String describe(AclRule r) {
    return r.id()
        + " "
        + r.effect().wireName()
        + " "
        + r.principal()
        + " "
        + EnumSet.copyOf(r.permissions()).stream()
            .map(Permission::wireName)
            .collect(Collectors.joining(","))
        + " "
        + r.resource();
  }
}
