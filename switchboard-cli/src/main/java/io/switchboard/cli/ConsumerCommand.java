package io.switchboard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.DeliveryEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code switchboard consumer}: create, list, describe, delete and read durable consumers. */
@Command(
    name = "consumer",
    description = "Manage durable consumers and read from them: add, ls, info, rm, next.",
    mixinStandardHelpOptions = true,
    subcommands = {
      ConsumerCommand.Add.class,
      ConsumerCommand.Ls.class,
      ConsumerCommand.Info.class,
      ConsumerCommand.Rm.class,
      ConsumerCommand.Next.class
    })
final class ConsumerCommand {

  /** {@code consumer add}: creates a durable consumer on a stream. */
  @Command(
      name = "add",
      description = {
        "Create a durable consumer on a stream.",
        "Options left out take the server's defaults."
      })
  static final class Add extends AdminCommand {
    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream name.")
    String stream;

    @Parameters(index = "1", paramLabel = "NAME", description = "Consumer name.")
    String name;

    @Option(
        names = "--mode",
        paramLabel = "MODE",
        description =
            "How messages are spread over members: exclusive, failover, shared,"
                + " key-shared or group.")
    String mode;

    @Option(
        names = "--ack",
        paramLabel = "POLICY",
        description = "none, each (every message is acked) or cumulative.")
    String ack;

    @Option(
        names = "--max-deliver",
        paramLabel = "N",
        description = "Deliveries before a message is dead-lettered (-1: unlimited).")
    Integer maxDeliver;

    @Option(
        names = "--dead-letter",
        paramLabel = "SUBJECT",
        description = "Where messages go after --max-deliver deliveries.")
    String deadLetter;

    @Option(
        names = "--filter",
        paramLabel = "PATTERN",
        description = "Deliver only messages whose subject matches.")
    String filter;

    @Option(
        names = "--start",
        paramLabel = "WHERE",
        description =
            "Where it begins: earliest, latest, last-per-subject, offset:N or" + " time:EPOCH_MS.")
    String start;

    @Option(
        names = "--ack-timeout",
        paramLabel = "DURATION",
        converter = Durations.class,
        description = "Redeliver a message not acked within this.")
    Duration ackTimeout;

    @Option(
        names = "--backoff",
        paramLabel = "DURATION",
        split = ",",
        converter = Durations.class,
        description =
            "Delay before each redelivery, comma-separated (1s,5s,30s: the last repeats).")
    List<Duration> backoff;

    @Option(
        names = "--max-ack-pending",
        paramLabel = "N",
        description = "Most unacknowledged messages at once.")
    Integer maxAckPending;

    private ObjectNode body;

    @Override
    void validate() {
      ObjectNode config = object();
      config.put("name", name);
      if (mode != null) {
        config.put(
            "mode",
            choice("--mode", mode, "exclusive", "failover", "shared", "key-shared", "group"));
      }
      if (ack != null) {
        config.put("ackPolicy", choice("--ack", ack, "none", "each", "cumulative"));
      }
      if (maxDeliver != null) {
        config.put("maxDeliver", maxDeliver);
      }
      if (deadLetter != null) {
        config.put("deadLetterSubject", deadLetter);
      }
      if (filter != null) {
        config.put("filter", filter);
      }
      if (start != null) {
        start(config);
      }
      if (ackTimeout != null) {
        config.put("ackTimeoutMs", ackTimeout.toMillis());
      }
      if (backoff != null) {
        ArrayNode b = config.putArray("backoffMs");
        backoff.forEach(d -> b.add(d.toMillis()));
      }
      if (maxAckPending != null) {
        config.put("maxAckPending", maxAckPending);
      }
      body = object().put("stream", stream);
      body.set("config", config);
    }

    private void start(ObjectNode config) {
      int colon = start.indexOf(':');
      String kind = colon < 0 ? start : start.substring(0, colon);
      String wire =
          choice("--start", kind, "earliest", "latest", "last-per-subject", "offset", "time");
      boolean needsNumber = wire.equals("offset") || wire.equals("time");
      if (needsNumber != (colon >= 0)) {
        throw usage(
            "Invalid value for option '--start': '"
                + start
                + "' (use earliest, latest, last-per-subject, offset:N or time:EPOCH_MS)");
      }
      config.put("start", wire);
      if (needsNumber) {
        long n;
        try {
          n = Long.parseLong(start.substring(colon + 1));
        } catch (NumberFormatException e) {
          throw usage("Invalid value for option '--start': '" + start + "' needs a number");
        }
        config.put(wire.equals("offset") ? "startOffset" : "startTimeMs", n);
      }
    }

    @Override
    int run(SwitchboardClient client) {
      String answer = admin(client, Admin.Op.CONSUMER_CREATE, body);
      output().line(json ? answer : "created " + render(parse(answer)));
      return ExitCodes.OK;
    }
  }

  /** {@code consumer ls}: lists a stream's consumers. */
  @Command(name = "ls", description = "List a stream's consumers.")
  static final class Ls extends AdminCommand {
    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream name.")
    String stream;

    @Override
    int run(SwitchboardClient client) {
      String answer = admin(client, Admin.Op.CONSUMER_LIST, object().put("stream", stream));
      if (json) {
        output().line(answer);
        return ExitCodes.OK;
      }
      JsonNode consumers = parse(answer).path("consumers");
      if (consumers.isEmpty()) {
        output().line("no consumers on stream " + stream);
        return ExitCodes.OK;
      }
      String format = "%-20s %-12s %-10s %-24s %14s %13s";
      StringBuilder b =
          new StringBuilder(
              String.format(
                  Locale.ROOT,
                  format,
                  "NAME",
                  "MODE",
                  "ACK",
                  "FILTER",
                  "UNACKNOWLEDGED",
                  "DEAD-LETTERED"));
      for (JsonNode info : consumers) {
        JsonNode c = info.path("config");
        b.append('\n')
            .append(
                String.format(
                    Locale.ROOT,
                    format,
                    c.path("name").asText(),
                    cli(c.get("mode")),
                    cli(c.get("ackPolicy")),
                    textOr(c.get("filter"), "(all)"),
                    info.path("unacknowledged").asText(),
                    info.path("deadLettered").asText()));
      }
      output().line(b.toString());
      return ExitCodes.OK;
    }
  }

  /** {@code consumer info}: one consumer's definition and state. */
  @Command(name = "info", description = "Show a consumer's definition and state.")
  static final class Info extends AdminCommand {
    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream name.")
    String stream;

    @Parameters(index = "1", paramLabel = "NAME", description = "Consumer name.")
    String name;

    @Override
    int run(SwitchboardClient client) {
      String answer =
          admin(client, Admin.Op.CONSUMER_INFO, object().put("stream", stream).put("name", name));
      output().line(json ? answer : render(parse(answer)));
      return ExitCodes.OK;
    }
  }

  /** {@code consumer rm}: deletes a consumer. */
  @Command(
      name = "rm",
      description = {
        "Delete a consumer and its position.",
        "Prints nothing with --json (the server's answer is empty)."
      })
  static final class Rm extends AdminCommand {
    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream name.")
    String stream;

    @Parameters(index = "1", paramLabel = "NAME", description = "Consumer name.")
    String name;

    @Override
    int run(SwitchboardClient client) {
      String answer =
          admin(client, Admin.Op.CONSUMER_DELETE, object().put("stream", stream).put("name", name));
      if (!json) {
        output().line("deleted consumer " + name + " of stream " + stream);
      } else if (!answer.isEmpty()) {
        output().line(answer);
      }
      return ExitCodes.OK;
    }
  }

  /** {@code consumer next}: pulls messages, prints them, and acks (or nacks) each one. */
  @Command(
      name = "next",
      description = {
        "Fetch up to --count messages from a consumer and print them.",
        "Each printed message is then acked, unless --nack or --no-ack (or the consumer's ack"
            + " policy is none).",
        "Exits with 4 when no message came within --wait."
      })
  static final class Next extends ClientCommand {
    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream name.")
    String stream;

    @Parameters(index = "1", paramLabel = "NAME", description = "Consumer name.")
    String name;

    @Option(
        names = "--count",
        paramLabel = "N",
        defaultValue = "1",
        description = "Messages to fetch (default: ${DEFAULT-VALUE}).")
    int count;

    @Option(
        names = "--wait",
        paramLabel = "DURATION",
        defaultValue = "5s",
        converter = Durations.class,
        description = "How long to wait, in all, for the messages (default: ${DEFAULT-VALUE}).")
    Duration wait;

    @Option(
        names = "--member",
        paramLabel = "M",
        description =
            "Member name; keeps an exclusive, failover or key-shared assignment across"
                + " runs (default: one per connection).")
    String member;

    @ArgGroup(exclusive = true)
    Settle settle;

    /** What to do with each printed message; {@code --ack} when none is given. */
    static final class Settle {
      @Option(names = "--ack", description = "Acknowledge each message (the default).")
      boolean ack;

      @Option(names = "--nack", description = "Give each message back for redelivery.")
      boolean nack;

      @Option(
          names = "--no-ack",
          description =
              "Leave messages unacknowledged: they are redelivered after the ack" + " timeout.")
      boolean noAck;
    }

    @Option(
        names = "--nack-delay",
        paramLabel = "DURATION",
        converter = Durations.class,
        description = "With --nack: redeliver after this (default: at once).")
    Duration nackDelay;

    @Override
    void validate() {
      if (count < 1) {
        throw usage("--count must be at least 1 (got " + count + ")");
      }
      if (wait.toMillis() > Integer.MAX_VALUE) {
        throw usage("--wait is too long (got " + Durations.format(wait) + ")");
      }
      if (nackDelay != null && (settle == null || !settle.nack)) {
        throw usage("--nack-delay needs --nack");
      }
    }

    @Override
    int run(SwitchboardClient client) {
      Output output = output();
      // A consumer with ack policy none tracks nothing: acks and nacks would only be ignored.
      String info =
          client.admin(
              Admin.Op.CONSUMER_INFO,
              AdminCommand.object().put("stream", stream).put("name", name).toString());
      boolean tracked =
          !AdminCommand.parse(info).path("config").path("ackPolicy").asText().equals("none");
      long deadlineNs = System.nanoTime() + wait.toNanos();
      int received = 0;
      while (received < count) {
        long waitMs = Math.max(0, (deadlineNs - System.nanoTime()) / 1_000_000);
        List<DeliveryEntry> batch =
            client.fetch(stream, name, member, count - received, (int) waitMs);
        if (batch.isEmpty()) {
          break;
        }
        for (DeliveryEntry d : batch) {
          output.delivery(stream, name, d);
          if (tracked) {
            settle(client, d);
          }
        }
        received += batch.size();
      }
      if (received == 0) {
        err().println("no message within " + Durations.format(wait));
        return ExitCodes.TIMEOUT;
      }
      return ExitCodes.OK;
    }

    private void settle(SwitchboardClient client, DeliveryEntry d) {
      boolean applied;
      String what;
      if (settle != null && settle.noAck) {
        return;
      } else if (settle != null && settle.nack) {
        applied =
            client.nack(
                stream,
                name,
                d,
                nackDelay == null ? 0 : nackDelay.toMillis(),
                "nacked with switchboard consumer next");
        what = "nack";
      } else {
        applied = client.ack(stream, name, d);
        what = "ack";
      }
      if (!applied) {
        err()
            .println(
                "warning: "
                    + what
                    + " of partition "
                    + d.partition()
                    + " offset "
                    + d.offset()
                    + " came too late: it was redelivered or settled meanwhile");
      }
    }
  }

  /** A consumer info as key/value lines. */
  static String render(JsonNode info) {
    JsonNode c = info.path("config");
    List<String> lines = new ArrayList<>();
    lines.add("consumer " + c.path("name").asText() + " on stream " + info.path("stream").asText());
    lines.add(AdminCommand.row("filter", AdminCommand.textOr(c.get("filter"), "(all subjects)")));
    lines.add(AdminCommand.row("mode", AdminCommand.cli(c.get("mode"))));
    String start = AdminCommand.cli(c.get("start"));
    if (start.equals("offset")) {
      start += ":" + c.path("startOffset").asText();
    } else if (start.equals("time")) {
      start += ":" + c.path("startTimeMs").asText();
    }
    lines.add(AdminCommand.row("start", start));
    lines.add(AdminCommand.row("ack policy", AdminCommand.cli(c.get("ackPolicy"))));
    lines.add(
        AdminCommand.row(
            "ack timeout", Durations.format(Duration.ofMillis(c.path("ackTimeoutMs").asLong()))));
    lines.add(AdminCommand.row("max deliver", AdminCommand.limit(c.get("maxDeliver"))));
    List<String> backoff = new ArrayList<>();
    c.path("backoffMs").forEach(n -> backoff.add(Durations.format(Duration.ofMillis(n.asLong()))));
    lines.add(AdminCommand.row("backoff", backoff.isEmpty() ? "none" : String.join(",", backoff)));
    lines.add(
        AdminCommand.row(
            "dead-letter subject", AdminCommand.textOr(c.get("deadLetterSubject"), "none")));
    lines.add(AdminCommand.row("max ack pending", c.path("maxAckPending").asText()));
    lines.add(AdminCommand.row("unacknowledged", info.path("unacknowledged").asText()));
    lines.add(AdminCommand.row("dead-lettered", info.path("deadLettered").asText()));
    return String.join("\n", lines);
  }
}
