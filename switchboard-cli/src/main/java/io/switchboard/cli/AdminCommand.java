package io.switchboard.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.Admin;
import java.time.Duration;
import java.util.Locale;

/**
 * A command that sends one ADMIN request ({@code docs/protocol.md} §11) and prints the answer: the
 * server's JSON as it came with {@code --json}, else a human rendering. Confined to the command's
 * thread.
 */
abstract class AdminCommand extends ClientCommand {

  /** Sends {@code op} with {@code body}; returns the answer's JSON text (empty after a delete). */
  static String admin(SwitchboardClient client, Admin.Op op, ObjectNode body) {
    return client.admin(op, body.toString());
  }

  static ObjectNode object() {
    return Output.JSON.createObjectNode();
  }

  /** Parses an admin answer; the server sends JSON, so a failure here is a bug worth reporting. */
  static JsonNode parse(String json) {
    try {
      return Output.JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the server's admin answer is not JSON: " + json, e);
    }
  }

  /**
   * Checks {@code value} against {@code allowed} (written with hyphens; underscores and any case
   * are accepted too) and returns the protocol's spelling: lower case with underscores.
   */
  String choice(String option, String value, String... allowed) {
    String wire = value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
    for (String a : allowed) {
      if (a.replace('-', '_').equals(wire)) {
        return wire;
      }
    }
    throw usage(
        "Invalid value for option '"
            + option
            + "': '"
            + value
            + "' is not one of "
            + String.join(", ", allowed));
  }

  /** An enum value as the command line spells it: {@code work_queue} → {@code work-queue}. */
  static String cli(JsonNode enumValue) {
    return enumValue == null || enumValue.isNull() ? "-" : enumValue.asText().replace('_', '-');
  }

  /** A limit: -1 is unlimited. */
  static String limit(JsonNode n) {
    return n == null || n.asLong(-1) < 0 ? "unlimited" : n.asText();
  }

  /** A millisecond limit as a duration: -1 is unlimited. */
  static String durationLimit(JsonNode n) {
    return n == null || n.asLong(-1) < 0
        ? "unlimited"
        : Durations.format(Duration.ofMillis(n.asLong()));
  }

  static String textOr(JsonNode n, String absent) {
    return n == null || n.isNull() ? absent : n.asText();
  }

  /** Pads {@code label} so that values line up in key/value listings. */
  static String row(String label, Object value) {
    return String.format(Locale.ROOT, "  %-26s %s", label + ":", value);
  }
}
