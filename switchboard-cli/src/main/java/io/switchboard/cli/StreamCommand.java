package io.switchboard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.Admin;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code switchboard stream}: create, list, describe and delete streams. */
@Command(
    name = "stream",
    description = "Manage streams: add, ls, info, rm.",
    mixinStandardHelpOptions = true,
    subcommands = {
      StreamCommand.Add.class,
      StreamCommand.Ls.class,
      StreamCommand.Info.class,
      StreamCommand.Rm.class
    })
final class StreamCommand {

  /** {@code stream add}: creates a stream. */
  @Command(
      name = "add",
      description = {
        "Create a stream capturing the given subjects.",
        "Options left out take the server's defaults."
      })
  static final class Add extends AdminCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "Stream name.")
    String name;

    @Option(
        names = "--subjects",
        required = true,
        split = ",",
        paramLabel = "PATTERN",
        description = "Subject patterns it captures, comma-separated (orders.>,refunds.*).")
    List<String> subjects = new ArrayList<>();

    @Option(names = "--partitions", paramLabel = "N", description = "Number of partitions.")
    Integer partitions;

    @Option(
        names = "--retention",
        paramLabel = "POLICY",
        description =
            "limits (keep until a limit), work-queue (until every consumer acks) or"
                + " compacted (last message per key).")
    String retention;

    @Option(
        names = "--fsync",
        paramLabel = "POLICY",
        description = "always (acks wait for fsync), interval or never.")
    String fsync;

    @Option(
        names = "--max-age",
        paramLabel = "DURATION",
        converter = Durations.class,
        description = "Remove messages older than this (5m, 24h...).")
    Duration maxAge;

    @Option(names = "--max-bytes", paramLabel = "N", description = "Bytes kept (-1: no limit).")
    Long maxBytes;

    @Option(
        names = "--max-messages",
        paramLabel = "N",
        description = "Messages kept (-1: no limit).")
    Long maxMessages;

    @Option(
        names = "--max-messages-per-subject",
        paramLabel = "N",
        description = "Newest messages kept per subject (-1: no limit).")
    Long maxMessagesPerSubject;

    @Option(
        names = "--max-message-bytes",
        paramLabel = "N",
        description = "Largest message accepted.")
    Integer maxMessageBytes;

    @Option(
        names = "--discard",
        paramLabel = "POLICY",
        description = "At a limit: drop-oldest, or reject-new publishes.")
    String discard;

    @Option(
        names = "--duplicate-window",
        paramLabel = "DURATION",
        converter = Durations.class,
        description = "How long message ids are remembered for de-duplication (0: off).")
    Duration duplicateWindow;

    private ObjectNode body;

    @Override
    void validate() {
      body = object();
      body.put("name", name);
      ArrayNode s = body.putArray("subjects");
      subjects.forEach(s::add);
      if (partitions != null) {
        body.put("partitions", partitions);
      }
      if (retention != null) {
        body.put(
            "retention", choice("--retention", retention, "limits", "work-queue", "compacted"));
      }
      if (fsync != null) {
        body.put("fsync", choice("--fsync", fsync, "always", "interval", "never"));
      }
      if (maxAge != null) {
        body.put("maxAgeMs", maxAge.toMillis());
      }
      if (maxBytes != null) {
        body.put("maxBytes", maxBytes);
      }
      if (maxMessages != null) {
        body.put("maxMessages", maxMessages);
      }
      if (maxMessagesPerSubject != null) {
        body.put("maxMessagesPerSubject", maxMessagesPerSubject);
      }
      if (maxMessageBytes != null) {
        body.put("maxMessageBytes", maxMessageBytes);
      }
      if (discard != null) {
        body.put("discard", choice("--discard", discard, "drop-oldest", "reject-new"));
      }
      if (duplicateWindow != null) {
        body.put("duplicateWindowMs", duplicateWindow.toMillis());
      }
    }

    @Override
    int run(SwitchboardClient client) {
      String answer = admin(client, Admin.Op.STREAM_CREATE, body);
      if (json) {
        output().line(answer);
      } else {
        output().line("created " + render(parse(answer)));
      }
      return ExitCodes.OK;
    }
  }

  /** {@code stream ls}: lists streams. */
  @Command(name = "ls", description = "List streams.")
  static final class Ls extends AdminCommand {
    @Override
    int run(SwitchboardClient client) {
      String answer = admin(client, Admin.Op.STREAM_LIST, object());
      if (json) {
        output().line(answer);
        return ExitCodes.OK;
      }
      JsonNode streams = parse(answer).path("streams");
      if (streams.isEmpty()) {
        output().line("no streams");
        return ExitCodes.OK;
      }
      String format = "%-20s %-30s %10s %-10s %12s %14s";
      StringBuilder b =
          new StringBuilder(
              String.format(
                  Locale.ROOT,
                  format,
                  "NAME",
                  "SUBJECTS",
                  "PARTITIONS",
                  "RETENTION",
                  "MESSAGES",
                  "BYTES"));
      for (JsonNode info : streams) {
        JsonNode c = info.path("config");
        b.append('\n')
            .append(
                String.format(
                    Locale.ROOT,
                    format,
                    c.path("name").asText(),
                    subjects(c),
                    c.path("partitions").asText(),
                    cli(c.get("retention")),
                    info.path("messages").asText(),
                    bytes(info)));
      }
      output().line(b.toString());
      return ExitCodes.OK;
    }
  }

  /** {@code stream info}: one stream's definition and state. */
  @Command(name = "info", description = "Show a stream's definition and state.")
  static final class Info extends AdminCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "Stream name.")
    String name;

    @Override
    int run(SwitchboardClient client) {
      ObjectNode body = object().put("name", name);
      String answer = admin(client, Admin.Op.STREAM_INFO, body);
      output().line(json ? answer : render(parse(answer)));
      return ExitCodes.OK;
    }
  }

  /** {@code stream rm}: deletes a stream and everything stored in it. */
  @Command(
      name = "rm",
      description = {
        "Delete a stream, its messages and its consumers.",
        "Prints nothing with --json (the server's answer is empty)."
      })
  static final class Rm extends AdminCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "Stream name.")
    String name;

    @Override
    int run(SwitchboardClient client) {
      String answer = admin(client, Admin.Op.STREAM_DELETE, object().put("name", name));
      if (!json) {
        output().line("deleted stream " + name);
      } else if (!answer.isEmpty()) {
        output().line(answer);
      }
      return ExitCodes.OK;
    }
  }

  /** A stream info as key/value lines. */
  static String render(JsonNode info) {
    JsonNode c = info.path("config");
    List<String> lines = new ArrayList<>();
    lines.add("stream " + c.path("name").asText());
    lines.add(AdminCommand.row("subjects", subjects(c)));
    lines.add(AdminCommand.row("partitions", c.path("partitions").asText()));
    lines.add(AdminCommand.row("retention", AdminCommand.cli(c.get("retention"))));
    lines.add(AdminCommand.row("fsync", AdminCommand.cli(c.get("fsync"))));
    lines.add(AdminCommand.row("discard", AdminCommand.cli(c.get("discard"))));
    lines.add(AdminCommand.row("max age", AdminCommand.durationLimit(c.get("maxAgeMs"))));
    lines.add(AdminCommand.row("max bytes", AdminCommand.limit(c.get("maxBytes"))));
    lines.add(AdminCommand.row("max messages", AdminCommand.limit(c.get("maxMessages"))));
    lines.add(
        AdminCommand.row(
            "max messages per subject", AdminCommand.limit(c.get("maxMessagesPerSubject"))));
    lines.add(AdminCommand.row("max message bytes", c.path("maxMessageBytes").asText()));
    long window = c.path("duplicateWindowMs").asLong();
    lines.add(
        AdminCommand.row(
            "duplicate window", window <= 0 ? "off" : Durations.format(Duration.ofMillis(window))));
    lines.add(AdminCommand.row("messages", info.path("messages").asText()));
    lines.add(AdminCommand.row("bytes", bytes(info)));
    for (JsonNode p : info.path("partitions")) {
      lines.add(
          AdminCommand.row(
              "partition " + p.path("partition").asText(),
              "first offset "
                  + p.path("firstOffset").asText()
                  + ", next offset "
                  + p.path("nextOffset").asText()
                  + ", "
                  + p.path("bytes").asText()
                  + " bytes"));
    }
    return String.join("\n", lines);
  }

  private static String subjects(JsonNode config) {
    List<String> s = new ArrayList<>();
    config.path("subjects").forEach(n -> s.add(n.asText()));
    return String.join(",", s);
  }

  private static long bytes(JsonNode info) {
    long total = 0;
    for (JsonNode p : info.path("partitions")) {
      total += p.path("bytes").asLong();
    }
    return total;
  }
}
