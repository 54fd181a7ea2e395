package io.switchboard.spi.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's settings, resolved and checked. Immutable, thread-safe.
 *
 * <p>Each key's value comes from, in order of precedence: a command-line flag, the environment
 * variable {@link ConfigKey#envName()}, the YAML file (nested maps or dotted keys), the key's
 * default. The whole configuration is checked before anything starts, and every problem — an
 * unknown key in the file, a value that does not parse or is out of range — is reported at once,
 * each with its key's name and where the value came from.
 */
public final class ServerConfig {
  private final Map<String, Object> values;
  private final Map<String, String> origins;

  private ServerConfig(Map<String, Object> values, Map<String, String> origins) {
    this.values = Map.copyOf(values);
    this.origins = Map.copyOf(origins);
  }

  /** The value of {@code key}; it must be one of the keys the config was loaded with. */
  @SuppressWarnings("unchecked")
  public <T> T get(ConfigKey<T> key) {
    Object v = values.get(key.name());
    if (v == null) {
      throw new IllegalArgumentException("unknown configuration key " + key.name());
    }
    return (T) v;
  }

  /** Where the value of {@code key} came from: "default", "file", "env", or "flag". */
  public String origin(ConfigKey<?> key) {
    return origins.get(key.name());
  }

  /** Every one of {@code keys} at its default (tests). */
  public static ServerConfig defaults(List<ConfigKey<?>> keys) {
    return resolve(keys, Map.of(), Map.of(), Map.of());
  }

  /**
   * Reads {@code file} (may be null: no file) and resolves every key.
   *
   * @param keys the catalogue: the server's keys and those front ends contribute
   * @param env the environment (only {@code SWITCHBOARD_*} variables are looked at)
   * @param flags values from the command line, by key name
   * @throws SwitchboardException {@link ErrorCode#INVALID_CONFIG} naming every problem
   */
  public static ServerConfig load(
      List<ConfigKey<?>> keys, Path file, Map<String, String> env, Map<String, String> flags) {
    return resolve(keys, file == null ? Map.of() : readYaml(file), env, flags);
  }

  /** Resolves every key from already-flattened file values. */
  public static ServerConfig resolve(
      List<ConfigKey<?>> keys,
      Map<String, String> file,
      Map<String, String> env,
      Map<String, String> flags) {
    List<String> problems = new ArrayList<>();
    Map<String, ConfigKey<?>> byName = new LinkedHashMap<>();
    for (ConfigKey<?> k : keys) {
      byName.put(k.name(), k);
    }
    for (String name : file.keySet()) {
      if (!byName.containsKey(name)) {
        problems.add(name + " (file): unknown key");
      }
    }
    for (String name : flags.keySet()) {
      if (!byName.containsKey(name)) {
        problems.add(name + " (flag): unknown key");
      }
    }
    Map<String, Object> values = new LinkedHashMap<>();
    Map<String, String> origins = new LinkedHashMap<>();
    for (ConfigKey<?> k : keys) {
      String text = k.defaultValue();
      String origin = "default";
      if (file.containsKey(k.name())) {
        text = file.get(k.name());
        origin = "file";
      }
      if (env.containsKey(k.envName())) {
        text = env.get(k.envName());
        origin = "env " + k.envName();
      }
      if (flags.containsKey(k.name())) {
        text = flags.get(k.name());
        origin = "flag";
      }
      try {
        values.put(k.name(), k.parser().apply(text));
        origins.put(k.name(), origin);
      } catch (IllegalArgumentException e) {
        problems.add(k.name() + " (" + origin + "): " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG,
          problems.size() + " problem(s): " + String.join("; ", problems));
    }
    return new ServerConfig(values, origins);
  }

  /** The YAML file flattened to dotted keys with text values. */
  static Map<String, String> readYaml(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "cannot read " + file + ": " + e.getMessage());
    }
    Map<String, String> out = new LinkedHashMap<>();
    if (root == null || root.isMissingNode() || root.isNull()) {
      return out;
    }
    if (!root.isObject()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, file + ": the top level must be a map of keys");
    }
    flatten("", root, out);
    return out;
  }

  private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
    for (Map.Entry<String, JsonNode> f : node.properties()) {
      String name = prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey();
      if (f.getValue().isObject()) {
        flatten(name, f.getValue(), out);
      } else {
        out.put(name, f.getValue().isValueNode() ? f.getValue().asText() : f.getValue().toString());
      }
    }
  }
}
