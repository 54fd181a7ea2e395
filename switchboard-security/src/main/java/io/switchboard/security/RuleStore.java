package io.switchboard.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * The authorization rules, in {@code <data>/security/acl.json}. Thread-safe: readers see an
 * immutable list (volatile); writers are serialized and write the whole file crash-safely ({@link
 * AtomicFiles}) before publishing.
 *
 * <pre>
 * {"format": 1, "nextId": 3,
 *  "rules": [{"id": "1", "effect": "allow", "principal": "user:alice",
 *             "permissions": ["publish", "subscribe"], "resource": "orders.>"}, ...]}
 * </pre>
 *
 * After a crash the file is the old or the new one; a damaged file stops the server from starting.
 */
final class RuleStore {
  static final String FILE = "acl.json";

  /** Most rules: bounds memory and each uncached decision's cost. */
  static final int MAX_RULES = 10_000;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private volatile List<AclRule> rules;
  private long nextId;
  private long loadedStamp;

  RuleStore(Path dir) throws IOException {
    this.file = dir.resolve(FILE);
    AtomicFiles.deleteLeftover(file);
    if (Files.exists(file)) {
      read();
    } else {
      rules = List.of();
      nextId = 1;
    }
    loadedStamp = stamp();
  }

  List<AclRule> rules() {
    return rules;
  }

  synchronized AclRule add(AclRule rule) throws IOException {
    if (rules.size() >= MAX_RULES) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "there are " + MAX_RULES + " rules (the limit)");
    }
    AclRule stored = rule.withId(Long.toString(nextId));
    List<AclRule> next = new ArrayList<>(rules);
    next.add(stored);
    write(next, nextId + 1);
    nextId++;
    rules = List.copyOf(next);
    loadedStamp = stamp();
    return stored;
  }

  synchronized void remove(String id) throws IOException {
    List<AclRule> next = new ArrayList<>(rules);
    if (!next.removeIf(r -> r.id().equals(id))) {
      throw SwitchboardException.of(ErrorCode.ACL_RULE_NOT_FOUND, id);
    }
    write(next, nextId);
    rules = List.copyOf(next);
    loadedStamp = stamp();
  }

  /** Re-reads the file if another process changed it. @return whether it was re-read */
  synchronized boolean reloadIfChanged() throws IOException {
    long stamp = stamp();
    if (stamp == loadedStamp) {
      return false;
    }
    read();
    loadedStamp = stamp;
    return true;
  }

  private long stamp() throws IOException {
    if (!Files.exists(file)) {
      return -1;
    }
    return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
  }

  private void write(List<AclRule> list, long next) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", 1);
    root.put("nextId", next);
    ArrayNode arr = root.putArray("rules");
    for (AclRule r : list) {
      ObjectNode o = arr.addObject();
      o.put("id", r.id());
      o.put("effect", r.effect().wireName());
      o.put("principal", r.principal());
      ArrayNode perms = o.putArray("permissions");
      for (Permission p : EnumSet.copyOf(r.permissions())) {
        perms.add(p.wireName());
      }
      o.put("resource", r.resource());
    }
    AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
  }

  private void read() throws IOException {
    try {
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      if (root == null || root.path("format").asInt() != 1) {
        throw new IllegalArgumentException("unknown format");
      }
      List<AclRule> list = new ArrayList<>();
      for (JsonNode o : root.path("rules")) {
        EnumSet<Permission> perms = EnumSet.noneOf(Permission.class);
        for (JsonNode p : o.path("permissions")) {
          perms.add(Permission.parse(p.asText()));
        }
        list.add(
            new AclRule(
                o.path("id").asText(),
                AclRule.Effect.parse(o.path("effect").asText()),
                o.path("principal").asText(),
                perms,
                o.path("resource").asText()));
      }
      rules = List.copyOf(list);
      nextId = Math.max(1, root.path("nextId").asLong(1));
    } catch (IOException | RuntimeException e) {
      throw SwitchboardException.wrap(
          e, ErrorCode.INVALID_CONFIG, file + " is not a valid rule file: " + e.getMessage());
    }
  }
}
