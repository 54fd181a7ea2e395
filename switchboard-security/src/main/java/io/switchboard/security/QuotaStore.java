package io.switchboard.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.QuotaLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Quotas by principal, in {@code <data>/security/quotas.json}. Thread-safe: readers see an
 * immutable map (volatile); writers are serialized and write the whole file crash-safely ({@link
 * AtomicFiles}) before publishing. Only the fields set are stored; the others inherit.
 *
 * <pre>
 * {"format": 1,
 *  "quotas": {"default": {"publish-bytes": 1048576},
 *             "user:alice": {"publish-messages": 100, "connections": 4}}}
 * </pre>
 */
final class QuotaStore {
  static final String FILE = "quotas.json";

  /** Most stored quotas. */
  static final int MAX_QUOTAS = 10_000;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private volatile Map<String, QuotaLimits> quotas = Map.of();
  private long loadedStamp;

  QuotaStore(Path dir) throws IOException {
    this.file = dir.resolve(FILE);
    AtomicFiles.deleteLeftover(file);
    if (Files.exists(file)) {
      read();
    }
    loadedStamp = stamp();
  }

  /** Stored quotas, sorted by principal. */
  Map<String, QuotaLimits> quotas() {
    return quotas;
  }

  synchronized void put(String principal, QuotaLimits limits) throws IOException {
    checkPrincipal(principal);
    TreeMap<String, QuotaLimits> next = new TreeMap<>(quotas);
    next.put(principal, limits);
    if (next.size() > MAX_QUOTAS) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "there are " + MAX_QUOTAS + " quotas (the limit)");
    }
    publish(next);
  }

  synchronized void remove(String principal) throws IOException {
    TreeMap<String, QuotaLimits> next = new TreeMap<>(quotas);
    if (next.remove(principal) == null) {
      throw SwitchboardException.of(ErrorCode.QUOTA_NOT_FOUND, principal);
    }
    publish(next);
  }

  /** Re-reads the file if another process changed it. @return whether it was re-read */
  synchronized boolean reloadIfChanged() throws IOException {
    long stamp = stamp();
    if (stamp == loadedStamp) {
      return false;
    }
    if (stamp == -1) {
      quotas = Map.of();
    } else {
      read();
    }
    loadedStamp = stamp;
    return true;
  }

  /**
   * A quota names a principal id ({@code user:alice}, {@code token:svc}, {@code cert:CN=x}, {@code
   * anonymous}) or {@code default}.
   */
  static void checkPrincipal(String p) {
    boolean ok =
        p != null
            && p.length() <= 1024
            && (p.equals(QuotaEngine.DEFAULT)
                || p.equals("anonymous")
                || ((p.startsWith("user:") || p.startsWith("token:") || p.startsWith("cert:"))
                    && p.indexOf(':') < p.length() - 1));
    if (!ok) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "a quota names a principal (user:NAME, token:SUB, cert:DN, anonymous) or default, not \""
              + Logins.printable(String.valueOf(p))
              + "\"");
    }
  }

  private void publish(TreeMap<String, QuotaLimits> next) throws IOException {
    write(next);
    quotas = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(next));
    loadedStamp = stamp();
  }

  private long stamp() throws IOException {
    if (!Files.exists(file)) {
      return -1;
    }
    return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
  }

  private void write(Map<String, QuotaLimits> map) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", 1);
    ObjectNode all = root.putObject("quotas");
    for (Map.Entry<String, QuotaLimits> e : map.entrySet()) {
      ObjectNode o = all.putObject(e.getKey());
      e.getValue()
          .asMap()
          .forEach(
              (k, v) -> {
                if (v != QuotaLimits.INHERIT) {
                  o.put(k, v);
                }
              });
    }
    AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
  }

  private void read() throws IOException {
    try {
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      if (root == null || root.path("format").asInt() != 1) {
        throw new IllegalArgumentException("unknown format");
      }
      TreeMap<String, QuotaLimits> map = new TreeMap<>();
      for (Map.Entry<String, JsonNode> e : root.path("quotas").properties()) {
        checkPrincipal(e.getKey());
        Map<String, Long> fields = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> f : e.getValue().properties()) {
          if (!f.getValue().canConvertToExactIntegral()) {
            throw new IllegalArgumentException(e.getKey() + "." + f.getKey() + " is no integer");
          }
          fields.put(f.getKey(), f.getValue().asLong());
        }
        map.put(e.getKey(), QuotaLimits.fromMap(fields));
      }
      quotas = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(map));
    } catch (IOException | RuntimeException e) {
      throw SwitchboardException.wrap(
          e, ErrorCode.INVALID_CONFIG, file + " is not a valid quota file: " + e.getMessage());
    }
  }
}
